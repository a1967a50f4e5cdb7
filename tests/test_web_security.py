"""Escaping of everything from Redis, CSRF, POST-only changes, basic auth, mounting."""
from __future__ import annotations

import base64
import re

import pytest

from resque.web import create_app
from tests.web_helpers import (  # noqa: F401 - fixtures
    no_auth_env, web,
    RUBY_WORKER, Web, form_fields, python_failure, ruby_json, seed, shared_app, text_of,
)

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'
EVIL_HOST = f"h{IMG}"
EVIL_WORKER = f"{EVIL_HOST}:66:{SCRIPT},q"


@pytest.fixture
def evil(r, client):
    """Hostile strings in every place Redis data reaches a page."""
    client.enqueue_to(SCRIPT, IMG, SCRIPT, {"k": IMG})
    client.enqueue_to("plain", "ActiveJob::QueueAdapters::ResqueAdapter::JobWrapper",
                      {"job_class": SCRIPT, "arguments": [IMG]})
    r.sadd("resque:workers", EVIL_WORKER)
    r.set(f"resque:worker:{EVIL_WORKER}:started", SCRIPT)
    r.hset("resque:workers:heartbeat", EVIL_WORKER, IMG)
    r.set(f"resque:worker:{EVIL_WORKER}", ruby_json(
        {"queue": SCRIPT, "run_at": IMG, "payload": {"class": IMG, "args": [SCRIPT]}}))
    r.rpush("resque:failed", ruby_json({
        "failed_at": IMG, "payload": {"class": SCRIPT, "args": [IMG]}, "exception": SCRIPT,
        "error": IMG, "backtrace": [SCRIPT], "worker": EVIL_WORKER, "queue": IMG,
        "retried_at": SCRIPT}))
    python_failure(client, queue=SCRIPT, worker=EVIL_WORKER, message=SCRIPT,
                   payload={"class": IMG, "args": [SCRIPT]})
    r.set(f"resque:{SCRIPT}", IMG)
    r.rpush(f"resque:{IMG}", SCRIPT)
    return Web(create_app(client))


def _pages(web):
    paths = ["/overview", "/working", "/queues", "/workers", "/failed", "/stats/resque",
             "/stats/redis", "/stats/keys", f"/failed?class={IMG}", "/failed?queue=" + SCRIPT,
             "/workers/" + EVIL_HOST, "/failed/" + SCRIPT]
    html = web.get("/queues").text + web.get("/stats/keys").text + web.get("/workers").text
    links = set(re.findall(r'href="(/(?:queues|workers|working|stats/keys)/[^"]+)"', html))
    assert len(links) >= 6
    return paths + sorted(link.replace("&amp;", "&") for link in links)


def test_every_redis_value_renders_inert(evil):
    seen_escaped = 0
    for path in _pages(evil):
        res = evil.get(path)
        assert res.status_code in (200, 404, 405), path
        html = res.text
        assert "<script>alert" not in html, path
        assert "<img src=x" not in html, path
        assert 'onerror=alert(2)>' not in html.replace("&#34;&gt;&lt;img src=x onerror=alert(2)&gt;", ""), path
        seen_escaped += html.count("&lt;script&gt;alert(1)&lt;/script&gt;")
        seen_escaped += html.count("&#34;&gt;&lt;img src=x onerror=alert(2)&gt;")
    assert seen_escaped > 30  # the values are shown, escaped, not dropped


def test_escaped_values_still_read_correctly(evil):
    page = text_of(evil.get("/failed").text)
    assert f"Exception {SCRIPT}" in page and IMG in page
    assert SCRIPT + " (via ActiveJob)" in text_of(evil.get("/queues/plain").text)
    assert EVIL_HOST in text_of(evil.get("/workers").text)


def test_html_is_served_with_a_strict_content_security_policy(evil):
    res = evil.get("/overview")
    csp = res.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert res.headers["x-content-type-options"] == "nosniff" and res.headers["x-frame-options"] == "DENY"
    assert "<script>" not in res.text.replace('<script src="/static/resque.js" defer></script>', "")


def test_api_and_text_endpoints_are_not_html(evil):
    res = evil.get("/api/queues")
    assert res.headers["content-type"].startswith("application/json")
    assert SCRIPT in [q["name"] for q in res.json["queues"]]
    assert evil.get("/stats.txt").headers["content-type"].startswith("text/plain")
    assert evil.get("/metrics").headers["content-type"].startswith("text/plain")


def test_error_pages_escape_the_request(evil):
    res = evil.get("/workers/" + SCRIPT + ":1:x")
    assert res.status_code == 404 and "<script>alert" not in res.text and "&lt;script&gt;" in res.text
    res = evil.get("/stats/keys/" + SCRIPT + "nope")
    assert res.status_code == 404 and "<script>alert" not in res.text


# -- CSRF and POST-only -------------------------------------------------------

def test_forms_carry_a_token_signed_from_the_cookie(web):
    res = web.get("/queues/critical")
    cookie = res.cookies["resque_csrf"]
    assert cookie.http_only and cookie.same_site.lower() == "strict" and cookie.path == "/"
    tokens = set(re.findall(r'name="_csrf" value="([^"]+)"', res.text))
    assert len(tokens) == 1 and cookie.value not in tokens
    again = web.get("/failed")  # the same cookie gives the same token
    assert set(re.findall(r'name="_csrf" value="([^"]+)"', again.text)) == tokens


def test_post_without_or_with_a_wrong_token_is_refused(web, r):
    cases = [
        dict(send_token=False),
        dict(send_cookie=False),
        dict(send_token=False, send_cookie=False),
        dict(token="x" * 43),
        dict(token="a" * 43, cookie="a" * 42),
        dict(headers={"Origin": "https://evil.example"}),
    ]
    for case in cases:
        res = web.post("/queues/critical", {"action": "remove"}, **case)
        assert res.status_code == 403, case
        assert "CSRF" in res.text or "Cross-origin" in res.text
    target = form_fields(web.get("/failed").text, "retry")[0]
    target.pop("_csrf")
    assert web.post("/failed", target, send_token=False).status_code == 403
    assert web.post("/failed", {"action": "clear"}, token="nope").status_code == 403
    assert r.llen("resque:queue:critical") == 2 and r.llen("resque:failed") == 3
    assert "critical" in web.get("/api/queues").text


def test_token_in_header_works_for_scripts(web, r):
    token = web.csrf()
    res = web.client.simulate_post(
        "/queues/critical", body="action=clear",
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": token,
                 "Origin": "http://falconframework.org"},
        cookies={"resque_csrf": web.cookie()})
    assert res.status_code == 303 and r.llen("resque:queue:critical") == 0


def test_clear_and_remove_queue_by_post(web, r):
    res = web.post("/queues/critical", {"action": "clear"})
    assert res.status_code == 303 and res.headers["location"] == "/queues/critical"
    assert r.llen("resque:queue:critical") == 0 and r.sismember("resque:queues", "critical")
    res = web.post("/queues/mail", {"action": "remove"})
    assert res.status_code == 303 and res.headers["location"] == "/queues"
    assert not r.sismember("resque:queues", "mail") and r.exists("resque:queue:mail") == 0
    assert web.post("/queues/high", {"action": "explode"}).status_code == 400


def test_get_never_changes_anything(web, r):
    before = {k: r.dump(k) for k in r.keys("*")}
    for path in ("/queues/critical?action=remove", "/queues/critical?action=clear",
                 "/failed?action=clear", "/failed?action=retry_all", "/failed/requeue/0",
                 "/failed/remove/0", "/failed/requeue/all", "/failed/clear", "/failed/clear_retried",
                 "/queues/critical/remove", "/workers/" + RUBY_WORKER + "?action=remove"):
        web.get(path)
    after = {k: r.dump(k) for k in r.keys("*")}
    assert after == before


# -- basic auth -----------------------------------------------------------------

def _auth(user, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_basic_auth_from_options(client):
    web = Web(create_app(client, user="admin", password="s3cret"))
    res = web.get("/overview")
    assert res.status_code == 401 and res.headers["www-authenticate"].startswith("Basic realm=")
    assert web.get("/overview", headers=_auth("admin", "wrong")).status_code == 401
    assert web.get("/overview", headers=_auth("other", "s3cret")).status_code == 401
    assert web.get("/overview", headers={"Authorization": "Basic !!!"}).status_code == 401
    assert web.get("/metrics").status_code == 401 and web.get("/api/overview").status_code == 401
    assert web.get("/overview", headers=_auth("admin", "s3cret")).status_code == 200


def test_basic_auth_from_environment(client, monkeypatch):
    monkeypatch.setenv("RESQUE_WEB_USER", "ops")
    monkeypatch.setenv("RESQUE_WEB_PASSWORD", "pässword")
    web = Web(create_app(client))
    assert web.get("/overview").status_code == 401
    assert web.get("/overview", headers=_auth("ops", "pässword")).status_code == 200


# -- mounted under a prefix -------------------------------------------------------

def test_every_link_form_and_redirect_honours_script_name(r, client):
    seed(r, client)
    web = Web(create_app(client), root_path="/admin/resque")
    for path in ("/overview", "/failed", "/workers", "/queues/critical", "/stats/keys"):
        html = web.get(path).text
        for url in re.findall(r'(?:href|action|src)="([^"]+)"', html):
            assert url.startswith("/admin/resque/"), (path, url)
        assert 'data-root="/admin/resque"' in html
    assert web.get("/").headers["location"] == "/admin/resque/overview"
    fresh = web.client.simulate_get("/overview", root_path="/admin/resque")
    assert fresh.cookies["resque_csrf"].path == "/admin/resque"
    res = web.post("/queues/critical", {"action": "remove"})
    assert res.status_code == 303 and res.headers["location"] == "/admin/resque/queues"
    assert web.get("/static/style.css").status_code == 200
