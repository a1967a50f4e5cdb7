"""Corrupt counters, worker records, heartbeats and times are shown as such, never fatal."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from resque.cli import main
from tests.web_helpers import (  # noqa: F401 - fixtures
    no_auth_env, shared_app, web,
    PY_WORKER, RUBY_WORKER, text_of,
)

W = PY_WORKER
CORRUPT = {
    "processed-not-a-number": lambda r: r.set("resque:stat:processed", "12abc"),
    "processed-a-float": lambda r: r.set("resque:stat:processed", "1.5"),
    "processed-wrong-type": lambda r: (r.delete("resque:stat:processed"),
                                       r.rpush("resque:stat:processed", "x")),
    "failed-not-a-number": lambda r: r.set("resque:stat:failed", "lots"),
    "worker-processed": lambda r: r.set(f"resque:stat:processed:{W}", "zz"),
    "worker-failed-wrong-type": lambda r: (r.delete(f"resque:stat:failed:{RUBY_WORKER}"),
                                           r.sadd(f"resque:stat:failed:{RUBY_WORKER}", "x")),
    "worker-record-not-json": lambda r: r.set(f"resque:worker:{W}", "not json {"),
    "worker-record-a-list": lambda r: r.set(f"resque:worker:{W}", "[1,2]"),
    "worker-record-odd-types": lambda r: r.set(
        f"resque:worker:{W}", '{"queue":5,"run_at":7,"payload":"x"}'),
    "worker-record-wrong-type": lambda r: (r.delete(f"resque:worker:{W}"),
                                           r.hset(f"resque:worker:{W}", "a", "b")),
    "worker-record-bad-utf8": lambda r: r.set(
        f"resque:worker:{W}", b'{"queue":"q\xff","run_at":"x","payload":{"class":"X\xfe"}}'),
    "heartbeat-garbage": lambda r: r.hset("resque:workers:heartbeat", W, "garbage"),
    "heartbeat-year-99999": lambda r: r.hset("resque:workers:heartbeat", W, "99999-01-01T00:00:00Z"),
    "heartbeats-wrong-type": lambda r: (r.delete("resque:workers:heartbeat"),
                                        r.set("resque:workers:heartbeat", "x")),
    "started-garbage": lambda r: r.set(f"resque:worker:{W}:started", "yesterday-ish"),
    "run-at-garbage": lambda r: r.set(f"resque:worker:{W}", '{"queue":"q","run_at":"soon",'
                                                            '"payload":{"class":"X","args":[]}}'),
    "failed-at-garbage": lambda r: r.rpush("resque:failed", '{"failed_at":"0000/00/00 99:99:99 +9999",'
                                                            '"payload":{"class":"X","args":[]}}'),
    "failure-not-json": lambda r: r.rpush("resque:failed", "not json ["),
    "worker-id-malformed": lambda r: r.sadd("resque:workers", "no-colons-here"),
}
ROUTES = ["/overview", "/working", f"/working/{W}", "/queues", "/queues/critical", "/workers",
          f"/workers/{W}", f"/workers/{RUBY_WORKER}", "/workers/py-box", "/failed",
          "/failed?class=X", "/stats/resque", "/stats/keys", "/stats.txt", "/metrics",
          "/api/overview", "/api/working", "/api/workers", "/api/stats/resque", "/api/failed"]


@pytest.mark.parametrize("kind", sorted(CORRUPT))
def test_every_route_and_resque_info_survive_corrupt_data(web, r, redis_url, kind):
    CORRUPT[kind](r)
    for path in ROUTES:
        res = web.get(path)
        assert res.status_code < 500, (kind, path, res.status_code, res.text[:300])
    out = CliRunner().invoke(main, ["-r", redis_url, "info"])
    assert out.exit_code == 0 and out.exception is None, out.output
    out = CliRunner().invoke(main, ["-r", redis_url, "info", "--json"])
    assert out.exit_code == 0, out.output
    json.loads(out.output)


def test_a_corrupt_counter_is_shown_as_corrupt(web, r, redis_url):
    r.set("resque:stat:processed", "12abc")
    r.set("resque:stat:failed", "lots")
    assert "corrupt: '12abc' processed" in text_of(web.get("/overview").text)
    assert web.get("/api/overview").json["processed"] == "12abc"
    assert "corrupt: '12abc'" in text_of(web.get("/stats/resque").text)
    assert "resque.processed+=12abc" in web.get("/stats.txt").text.splitlines()
    metrics = web.get("/metrics").text.splitlines()
    assert "resque_processed_total NaN" in metrics and "resque_failed_total NaN" in metrics
    out = CliRunner().invoke(main, ["-r", redis_url, "info", "--json"])
    assert json.loads(out.output)["processed"] == "12abc"


def test_corrupt_worker_counters_and_times_are_marked(web, r):
    r.set(f"resque:stat:processed:{W}", "zz")
    r.delete(f"resque:stat:failed:{W}")
    r.sadd(f"resque:stat:failed:{W}", "x")
    r.hset("resque:workers:heartbeat", W, "garbage")
    r.set(f"resque:worker:{W}:started", "yesterday-ish")
    page = text_of(web.get(f"/workers/{W}").text)
    assert "Processed corrupt: 'zz'" in page and "Failed corrupt: '(wrong Redis type)'" in page
    assert "Heartbeat corrupt: 'garbage'" in page and "Started corrupt: 'yesterday-ish'" in page
    row = next(w for w in web.get("/api/workers").json["workers"] if w["id"] == W)
    assert row["processed"] == "zz" and row["heartbeat"] == "garbage" and not row["stale"]


def test_a_key_of_the_wrong_type_is_a_data_error_not_an_outage(web, r):
    r.delete("resque:queues")
    r.set("resque:queues", "not a set")
    res = web.get("/queues")
    assert res.status_code == 500
    assert "Unexpected data in Redis" in res.text and "WRONGTYPE" in res.text
    assert "Redis unavailable" not in res.text
