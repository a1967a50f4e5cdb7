"""The web UI's pages and JSON API on a mix of Ruby-shaped and Python-written data."""
from __future__ import annotations

import json
import re
import signal

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from resque import Registry, Resque
from resque import NoQueueError, default_registry
from resque.worker import Worker, WorkerOptions
from resque.failure import RedisFailure, RedisMultiQueueFailure
from resque.web import create_app
from tests import jobs
from tests.web_helpers import (  # noqa: F401 - fixtures
    no_auth_env, shared_app, web,
    PY_WORKER, RUBY_HOST, RUBY_IDLE, RUBY_WORKER, Web, python_failure, seed, text_of,
)


def test_root_redirects_to_overview(web):
    res = web.get("/")
    assert res.status_code == 302 and res.headers["location"].endswith("/overview")


def test_overview_shows_queues_failed_count_and_working(web):
    res = web.get("/overview")
    assert res.status_code == 200
    assert res.headers["cache-control"] == "max-age=0, private, must-revalidate"
    page = text_of(res.text)
    for q, n in (("critical", 2), ("mail", 1), ("py_q", 1), ("high", 1)):
        assert re.search(rf'data-queue="{q}">{n}</td>', res.text), q
    assert re.search(r'data-list="failed">3</td>', res.text)
    assert "2 of 3 Workers Working" in page
    assert "ruby-box.example.com:4242" in page and "py-box:777" in page
    assert 'id="live-toggle"' in res.text and "data-live" in res.text


def test_working_lists_busy_workers_with_class_args_and_age(web):
    page = text_of(web.get("/working").text)
    assert "2 of 3 Workers Working" in page
    assert 'Archive 44 "masterbrew"' in page
    assert re.search(r"tests\.jobs\.Record 3 \d+s", page)
    # the Ruby job started in 2024: shown as days
    assert re.search(r"Archive 44 \"masterbrew\" \d+d \d+h", page)


def test_working_one_worker_shows_its_job(web):
    res = web.get("/working/" + RUBY_WORKER)
    assert res.status_code == 200
    page = text_of(res.text)
    assert "Queue critical" in page and "2024-05-01T12:35:00Z" in page and "Class Archive" in page
    assert web.get("/working/nobody:1:q").status_code == 404


def test_queues_page_lists_every_queue_and_failure_list(web):
    res = web.get("/queues")
    assert [m for m in re.findall(r'href="/queues/([^"]+)"', res.text)] == ["critical", "high", "mail", "py_q"]
    assert 'href="/failed">failed</a>' in res.text


def test_queue_page_shows_jobs_with_activejob_rule(web):
    page = text_of(web.get("/queues/mail").text)
    assert "WelcomeMailer (via ActiveJob)" in page
    page = text_of(web.get("/queues/critical").text)
    assert 'Archive 44 "masterbrew"' in page and "Reports::Monthly 2024" in page


def test_queue_page_paginates_20_at_a_time(web, client):
    client.enqueue_many("Bulk", [(i,) for i in range(45)], queue="bulk")
    first = web.get("/queues/bulk")
    assert "Showing 1–20 of 45 jobs" in text_of(first.text)
    assert 'href="/queues/bulk?start=20"' in first.text
    last = web.get("/queues/bulk", params={"start": 40})
    page = text_of(last.text)
    assert "Showing 41–45 of 45 jobs" in page and "Bulk 44" in page and "Bulk 39" not in page
    assert 'href="/queues/bulk?start=20"' in last.text


def test_queue_names_with_slashes_spaces_and_unicode_round_trip(web, client):
    name = "odd/queue name é?#"
    client.enqueue_to(name, "Thing", 1)
    html = web.get("/queues").text
    link = re.search(r'href="(/queues/odd[^"]*)"', html).group(1)
    assert link == "/queues/odd%2Fqueue%20name%20%C3%A9%3F%23"
    page = web.get(link)
    assert page.status_code == 200
    assert f"Pending jobs on {name}" in text_of(page.text) and "Thing 1" in text_of(page.text)
    forms = re.findall(r'<form method="post" action="([^"]+)"', page.text)
    assert forms == [link, link]


def test_workers_page_has_every_worker_with_counts_and_hosts(web):
    res = web.get("/workers")
    page = text_of(res.text)
    assert "3 workers" in page
    assert "all hosts 3" in page and f"{RUBY_HOST} 2" in page and "py-box 1" in page
    row = re.search(r"<tr class=\"state-working\">.*?ruby-box.example.com:4242.*?</tr>", res.text, re.S).group(0)
    assert ">12</td>" in row and ">2</td>" in row and "2024-05-01 12:34:56 +0000" in row
    assert "stale" in row  # a 2024 heartbeat
    assert re.search(r'state-idle">idle</span>', res.text)


def test_workers_of_one_host(web):
    page = text_of(web.get("/workers/" + RUBY_HOST).text)
    assert "Workers on ruby-box.example.com" in page and "2 workers on this host" in page
    assert "py-box:777" not in page.split("workers on this host")[1]


def test_worker_detail_and_unknown_worker(web):
    res = web.get("/workers/" + RUBY_WORKER)
    page = text_of(res.text)
    assert "Host ruby-box.example.com" in page and "Pid 4242" in page
    assert "Processed 12" in page and "Failed 2" in page and "Started 2024-05-01 12:34:56 +0000" in page
    assert "Processing Archive on critical" in page
    assert re.search(r'<code class="queue-tag">\*</code>', res.text)  # wildcard: not a link
    idle = text_of(web.get("/workers/" + RUBY_IDLE).text)
    assert "Waiting for a job" in idle
    assert web.get("/workers/nobody:1:q").status_code == 404
    assert web.get("/workers/no-such-host").status_code == 404
    assert "3 workers" in text_of(web.get("/workers/all").text)


def test_stats_pages(web, client):
    res = web.get("/stats")
    assert res.status_code == 302 and res.headers["location"].endswith("/stats/resque")
    page = text_of(web.get("/stats/resque").text)
    assert "pending 5" in page and "processed 17" in page and "workers 3" in page and "working 2" in page
    assert "failed 3" in page and "servers unix://" in page and "redis.sock" in page
    assert "redis_version" in web.get("/stats/redis").text
    keys = web.get("/stats/keys").text
    row = re.search(r'queue:critical</a></td><td>(\w+)</td><td class="num">(\d+)<', keys)
    assert row.groups() == ("list", "2")
    assert re.search(r'>failed</a></td><td>list</td><td class="num">3<', keys)


def test_key_browser_shows_values_with_pagination(web, client):
    client.enqueue_many("Bulk", [(i,) for i in range(25)], queue="bulk")
    first = text_of(web.get("/stats/keys/queue:bulk").text)
    assert "A list of size 25" in first and "Showing 1–20 of 25 elements" in first
    second = text_of(web.get("/stats/keys/queue:bulk", params={"start": 20}).text)
    assert '{"class":"Bulk","args":[24]}' in second and '"args":[0]}' not in second
    started = text_of(web.get(f"/stats/keys/worker:{RUBY_WORKER}:started").text)
    assert "A string of size 25" in started and "2024-05-01 12:34:56 +0000" in started
    heart = text_of(web.get("/stats/keys/workers:heartbeat").text)
    assert "A hash of size 3" in heart and f"{RUBY_WORKER}: 2024-05-01T12:34:56+00:00" in heart
    assert "critical" in text_of(web.get("/stats/keys/queues").text)
    assert web.get("/stats/keys/nothing-here").status_code == 404


def test_stats_txt_matches_ruby_lines(web, client):
    res = web.get("/stats.txt")
    assert res.text.split("\n") == [
        "resque.pending=5", "resque.processed+=17", "resque.failed+=3", "resque.workers=3",
        "resque.working=2", "queues.critical=2", "queues.high=1", "queues.mail=1", "queues.py_q=1",
    ]
    assert res.headers["content-type"].startswith("text/plain")


def test_metrics_prometheus_text(web, client):
    res = web.get("/metrics")
    assert res.headers["content-type"].startswith("text/plain; version=0.0.4")
    lines = res.text.splitlines()
    assert 'resque_queue_size{queue="critical"} 2' in lines
    assert "resque_pending 5" in lines
    assert "resque_processed_total 17" in lines and "resque_failed_total 2" in lines
    assert 'resque_failures{list="failed"} 3' in lines
    assert "resque_workers 3" in lines and "resque_working 2" in lines
    assert "# TYPE resque_processed_total counter" in lines
    age = float(next(x for x in lines if x.startswith("resque_oldest_failure_age_seconds ")).split()[1])
    assert age > 86400 * 365  # the Ruby failure from 2024 is the oldest
    for line in lines:
        assert line.startswith("#") or re.fullmatch(r'[a-z_]+(\{[a-z]+="(?:[^"\\]|\\.)*"\})? [0-9.]+', line), line


def test_metrics_escape_label_values(client):
    client.enqueue_to('we"ird\\q\nx', "A")
    res = Web(create_app(client)).get("/metrics")
    assert 'resque_queue_size{queue="we\\"ird\\\\q\\nx"} 1' in res.text


def test_api_index_and_every_view_has_json(web):
    index = web.get("/api").json
    assert "/api/failed?start=&class=&queue=&order=" in index["endpoints"]
    for path in ("/api/overview", "/api/working", "/api/queues", "/api/queues/critical",
                 "/api/workers", f"/api/workers/{RUBY_HOST}", f"/api/workers/{PY_WORKER}",
                 f"/api/working/{RUBY_WORKER}", "/api/failed", "/api/failed/failed",
                 "/api/stats/resque", "/api/stats/redis", "/api/stats/keys", "/api/stats/keys/queues"):
        res = web.get(path)
        assert res.status_code == 200 and res.headers["content-type"].startswith("application/json"), path
        assert isinstance(res.json, dict)


def test_api_payloads(web):
    ov = web.get("/api/overview").json
    assert {q["name"]: q["size"] for q in ov["queues"]} == {"critical": 2, "high": 1, "mail": 1, "py_q": 1}
    assert ov["failed_total"] == 3 and ov["workers_total"] == 3
    assert [w["id"] for w in ov["working"]] == [RUBY_WORKER, PY_WORKER]
    q = web.get("/api/queues/mail").json
    assert q["jobs"][0]["class"] == "WelcomeMailer" and q["jobs"][0]["via_activejob"] is True
    w = web.get(f"/api/workers/{RUBY_WORKER}").json["worker"]
    assert (w["host"], w["pid"], w["queues"], w["processed"], w["failed"]) == \
        (RUBY_HOST, 4242, ["critical", "high", "*"], 12, 2)
    failed = web.get("/api/failed").json
    assert [f["exception"] for f in failed["failures"]] == ["OSError", "Resque::DirtyExit", "NameError"]
    assert failed["page"]["total"] == 3
    assert web.get("/api/stats/resque").json["info"]["failed"] == 3
    assert web.get("/api/nothing").status_code == 404
    assert web.get("/api/queues/x").json["size"] == 0


def test_api_is_read_only(web):
    res = web.client.simulate_post("/api/queues/critical", body="action=remove")
    assert res.status_code in (403, 405)
    assert web.get("/api/queues/critical").json["size"] == 2


def test_multi_queue_backend_has_per_queue_failed_lists(r):
    client = Resque(r, registry=Registry(), failure=RedisMultiQueueFailure)
    python_failure(client, queue="high")
    python_failure(client, queue="high", message="again", payload={"class": "Other", "args": []})
    python_failure(client, queue="low")
    w = Web(create_app(client))
    queues = w.get("/queues").text
    assert 'href="/failed/high_failed">high_failed</a>' in queues
    overview = w.get("/failed")
    page = text_of(overview.text)
    assert "All Failed Queues: 3 total" in page
    assert "high_failed 2 Other 1, tests.jobs.Record 1" in page and "low_failed 1" in page
    high = text_of(w.get("/failed/high_failed").text)
    assert "Failed Jobs on high_failed" in high and "Showing 1–2 of 2 failures" in high
    assert "again" in high and "disk full" in high
    only = text_of(w.get("/failed/high_failed", params={"class": "Other"}).text)
    assert "with class Other" in only and "Showing 1–1 of 1 failures" in only
    assert json.loads(w.get("/api/failed").text)["overview"] is True


def test_odd_worker_records_render(web, r):
    odd = "odd-host:5:q"
    r.sadd("resque:workers", odd, "not-a-worker-id")
    r.set(f"resque:worker:{odd}", b"{not json")
    res = web.get("/working")
    assert res.status_code == 200 and "3 of 4 Workers Working" in text_of(res.text)
    assert "(unknown)" in text_of(res.text)
    assert web.get("/workers").status_code == 200 and web.get("/workers/" + odd).status_code == 200


def test_redis_down_is_a_503_page(tmp_path):
    down = redis.Redis(unix_socket_path=str(tmp_path / "gone.sock"), retry=Retry(NoBackoff(), 0))
    app = create_app(Resque(down), user="", password="")
    res = Web(app).get("/overview")
    assert res.status_code == 503 and "Redis unavailable" in res.text
    assert Web(app).get("/api/overview").json["title"] == "Redis unavailable"


class _BrokenBackend(RedisFailure):
    def queues(self):
        raise NoQueueError("no failure list configured for queue 'x'")


def test_resque_errors_become_4xx(r):
    app = create_app(Resque(r, registry=Registry(), failure=_BrokenBackend), user="", password="")
    res = Web(app).get("/failed")
    assert res.status_code == 400 and "NoQueueError" in res.text and "no failure list" in res.text


def test_a_real_python_worker_failure_shows_next_to_ruby_data(r, client, redis_url, shared_app,
                                                                monkeypatch):
    monkeypatch.setenv("RESQUE_REDIS_URL", redis_url)
    monkeypatch.setattr(jobs, "_conn", None)
    rq = Resque(r, registry=default_registry)
    rq.enqueue_to("pyw", "Boom", "kaput <b>")
    rq.enqueue_to("pyw", "Record", "fine")
    saved = {s: signal.getsignal(s) for s in (signal.SIGQUIT, signal.SIGTERM, signal.SIGINT,
                                               signal.SIGUSR1, signal.SIGUSR2, signal.SIGCONT)}
    try:
        Worker("pyw", rq, WorkerOptions(interval=0, fork=False)).work()
    finally:
        for s, h in saved.items():
            signal.signal(s, h)
    seed(r, client)
    web = Web(shared_app)
    page = text_of(web.get("/failed").text)
    assert "Boom Arguments \"kaput <b>\" Exception ValueError Error kaput <b>" in page
    assert "uninitialized constant Archive" in page and "disk full" in page
    assert "Showing 1–4 of 4 failures" in page
    assert 'data-queue="pyw">0</td>' in web.get("/overview").text
    assert web.get("/api/stats/resque").json["info"]["processed"] == 2 + 12 + 5
