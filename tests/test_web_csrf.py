"""Signed CSRF tokens, a shared secret, and the Origin/Fetch-Metadata checks."""
from __future__ import annotations

import pytest

from resque.errors import ConfigurationError
from resque.web import create_app
from tests.web_helpers import (  # noqa: F401 - fixtures
    no_auth_env, shared_app, web,
    Web, seed,
)

PLANTED = "P" * 43


def _remove(web: Web, **kwargs):  # type: ignore[no-untyped-def]
    return web.post("/queues/critical", {"action": "remove"}, **kwargs)


def test_a_planted_cookie_with_a_matching_field_is_refused(web, r):
    assert _remove(web, cookie=PLANTED, token=PLANTED).status_code == 403
    assert _remove(web, cookie=web.cookie(), token=web.cookie()).status_code == 403
    assert r.sismember("resque:queues", "critical")


def test_a_token_signed_with_another_secret_is_refused(r, client):
    seed(r, client)
    ours = Web(create_app(client, user="", password="", secret="s" * 32))
    theirs = Web(create_app(client, user="", password="", secret="t" * 32))
    assert _remove(ours, cookie=theirs.cookie(), token=theirs.csrf()).status_code == 403
    assert r.sismember("resque:queues", "critical")
    assert _remove(ours).status_code == 303


def test_a_planted_cookie_beside_the_real_one_does_not_lock_the_user_out(web, r):
    token, nonce = web.csrf(), web.cookie()
    res = web.client.simulate_post(
        "/queues/critical", body=f"action=remove&_csrf={token}",
        headers={"Content-Type": "application/x-www-form-urlencoded",
                 "Cookie": f"resque_csrf={PLANTED}; resque_csrf={nonce}"})
    assert res.status_code == 303 and not r.sismember("resque:queues", "critical")


@pytest.mark.parametrize("headers", [
    {"Origin": "null"},
    {"Origin": "NULL"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
    {"Origin": "http://falconframework.org:8080"},
    {"Origin": "https://falconframework.org"},
    {"Origin": "http://evil.example"},
    {"Origin": "http://falconframework.org.evil.example"},
    {"Origin": "not a url"},
    {"Referer": "http://evil.example/page"},
    {"Referer": "http://falconframework.org:81/resque/overview"},
    {"Origin": "http://falconframework.org", "Sec-Fetch-Site": "cross-site"},
])
def test_cross_origin_posts_are_refused_even_with_a_valid_token(web, r, headers):
    res = _remove(web, headers=headers)
    assert res.status_code == 403 and "Cross-origin request refused" in res.text
    assert r.sismember("resque:queues", "critical")


@pytest.mark.parametrize("headers", [
    {},
    {"Origin": "http://falconframework.org"},
    {"Origin": "http://FalconFramework.org:80"},
    {"Sec-Fetch-Site": "same-origin", "Origin": "http://falconframework.org"},
    {"Sec-Fetch-Site": "none"},
    {"Referer": "http://falconframework.org/queues/critical"},
])
def test_same_origin_posts_with_the_token_pass(web, r, headers):
    assert _remove(web, headers=headers).status_code == 303
    assert not r.sismember("resque:queues", "critical")


PROXIED = {"Origin": "https://ops.example.com", "X-Forwarded-Proto": "https",
           "X-Forwarded-Host": "ops.example.com"}


def test_forwarded_headers_count_only_when_trusted(r, client, monkeypatch):
    seed(r, client)
    untrusted = Web(create_app(client, user="", password=""))
    assert _remove(untrusted, headers=PROXIED).status_code == 403
    trusted = Web(create_app(client, user="", password="", trust_forwarded=True))
    res = trusted.get("/overview", headers={"X-Forwarded-Proto": "https"})
    assert res.cookies["resque_csrf"].secure
    assert _remove(trusted, headers={**PROXIED, "X-Forwarded-Host": "evil.example"}).status_code == 403
    assert _remove(trusted, headers=PROXIED).status_code == 303
    monkeypatch.setenv("RESQUE_WEB_TRUST_FORWARDED", "1")
    from_env = Web(create_app(client, user="", password=""))
    assert from_env.post("/queues/mail", {"action": "remove"}, headers=PROXIED).status_code == 303


def test_every_app_on_one_redis_shares_the_generated_secret(r, client):
    seed(r, client)
    first = Web(create_app(client, user="", password=""))
    token, nonce = first.csrf(), first.cookie()
    secret = r.get("resque:web:csrf_secret")
    assert secret and len(secret) >= 32
    second = Web(create_app(client, user="", password=""))  # another gunicorn worker
    assert _remove(second, cookie=nonce, token=token).status_code == 303
    assert r.get("resque:web:csrf_secret") == secret


def test_a_configured_secret_wins_and_must_be_long_enough(r, client, monkeypatch):
    seed(r, client)
    monkeypatch.setenv("RESQUE_WEB_SECRET", "e" * 20)
    from_env = Web(create_app(client, user="", password=""))
    explicit = Web(create_app(client, user="", password="", secret="e" * 20))
    assert from_env.get("/failed") and from_env.csrf() != ""
    assert _remove(explicit, cookie=from_env.cookie(), token=from_env.csrf()).status_code == 303
    assert r.get("resque:web:csrf_secret") is None
    with pytest.raises(ConfigurationError, match="at least 16"):
        create_app(client, user="", password="", secret="short")
