"""Pages stay small and read little from Redis: 50 MB jobs, 1M failures, big keys.

Sizes are asserted (page bytes, and the bytes Redis sent, from INFO's
``total_net_output_bytes``); timings live in ``bench/web_pages.py``.
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable

import pytest

from resque import Registry, Resque
from resque.preview import Cut, decode_cut
from resque.web import create_app
from tests.web_helpers import (  # noqa: F401 - fixtures
    no_auth_env, shared_app,
    RUBY_FAILURE, Web, form_fields, ruby_json, text_of,
)

MB = 1024 * 1024
BIG = 50 * MB
PAGE_LIMIT = MB
WORKER = "big-box:99:big"


def _sent(r: Any) -> int:
    return int(r.info("stats")["total_net_output_bytes"])


def measured(r: Any, call: Callable[[], Any]) -> tuple[Any, int]:
    """Run ``call`` and return its result and the bytes Redis sent meanwhile."""
    before = _sent(r)
    result = call()
    return result, _sent(r) - before


@pytest.fixture
def huge(r, client):
    """A 50 MB job in a queue, on a worker, and in a failure record."""
    arg = "x" * BIG
    job = ruby_json({"class": "Huge::Import", "args": [arg, 7]})
    r.sadd("resque:queues", "big")
    r.rpush("resque:queue:big", job, ruby_json({"class": "Small", "args": [1]}))
    r.sadd("resque:workers", WORKER)
    r.set(f"resque:worker:{WORKER}", b'{"queue":"big","run_at":"2024-05-01T12:35:00Z","payload":' + job + b"}")
    r.rpush("resque:failed", ruby_json(dict(RUBY_FAILURE, payload={"class": "Huge::Import", "args": [arg]},
                                            worker=WORKER, queue="big")))
    del arg, job
    return Web(create_app(client, user="", password=""))


PAGES = ["/overview", "/working", f"/working/{WORKER}", "/queues", "/queues/big", "/workers",
         f"/workers/{WORKER}", "/failed", "/failed?class=Huge::Import", "/stats/keys",
         "/stats/keys/queue:big", f"/stats/keys/worker:{WORKER}", "/stats/keys/failed",
         "/api/overview", "/api/working", "/api/queues/big", "/api/workers", "/api/failed",
         "/api/stats/keys/queue:big", "/stats.txt", "/metrics", "/overview?partial=1"]


def test_fifty_megabyte_jobs_make_small_pages_and_cross_the_wire_cut(huge, r):
    huge.get("/overview")
    for path in PAGES:
        res, used = measured(r, lambda: huge.get(path))
        assert res.status_code == 200, path
        assert len(res.content) < PAGE_LIMIT, (path, len(res.content))
        assert used < 200_000, (path, used)
    assert "Huge::Import" in text_of(huge.get("/queues/big").text)
    assert "the record is 50.0 MB" in text_of(huge.get("/queues/big").text)
    working = text_of(huge.get("/working").text)
    assert "Huge::Import" in working and "the record is 50.0 MB" in working
    failed = text_of(huge.get("/failed").text)
    assert "Huge::Import" in failed and "uninitialized constant Archive" in failed
    assert "big-box:99" in failed and "NameError" in failed  # read from the record's tail
    job = huge.get("/api/queues/big").json["jobs"][0]
    assert job["class"] == "Huge::Import" and job["cut"] and job["size"] > BIG


def test_a_cut_failure_can_still_be_retried_whole(huge, r):
    target = form_fields(huge.get("/failed").text, "retry")[0]
    assert huge.post("/failed", target).status_code == 303
    assert r.llen("resque:queue:big") == 3
    pushed = json.loads(r.lindex("resque:queue:big", -1))
    assert pushed["class"] == "Huge::Import" and len(pushed["args"][0]) == BIG
    assert json.loads(r.lindex("resque:failed", 0))["retried_at"]


@pytest.fixture(scope="module")
def million(redis_server):
    """One million short failure records, ten of class Rare, built in one pipeline."""
    import redis

    raw = redis.Redis.from_url(redis_server.url)
    raw.flushall()
    record = ruby_json(dict(RUBY_FAILURE, backtrace=["/app/x.rb:1"]))
    rare = ruby_json(dict(RUBY_FAILURE, payload={"class": "Rare", "args": [1]}))
    with raw.pipeline(transaction=False) as pipe:
        for i in range(1000):
            pipe.rpush("resque:failed", *([record] * 999), rare if i % 100 == 95 else record)
        pipe.execute()
    yield raw
    raw.flushall()


def test_a_filtered_failed_page_reads_a_bounded_window_of_a_million(million):
    r = million
    assert r.llen("resque:failed") == 1_000_000
    web = Web(create_app(Resque(r, registry=Registry()), user="", password=""))
    web.get("/overview")
    res, used = measured(r, lambda: web.get("/failed", params={"class": "Rare"}))
    page = text_of(res.text)
    assert res.status_code == 200 and "Searched failures 1–2000 of 1000000" in page
    assert "search further" in page and len(res.content) < PAGE_LIMIT
    assert used < 2000 * 1200 + 100_000, used
    further = re.search(r'class="scan-next" href="([^"]+)"', res.text).group(1).replace("&amp;", "&")
    steps = 0
    while "Rare" not in text_of(res.text).split("Searched")[1] and steps < 20:
        res = web.get(further.split("?")[0], query_string=further.split("?")[1])
        m = re.search(r'class="scan-next" href="([^"]+)"', res.text)
        further = m.group(1).replace("&amp;", "&") if m else further
        steps += 1
    assert res.text.count('<li class="failure') == 1 and "Class Rare" in text_of(res.text)
    for path in ("/failed", "/api/failed", "/overview", "/metrics", "/stats/keys/failed"):
        res, used = measured(r, lambda: web.get(path))
        assert res.status_code == 200 and len(res.content) < PAGE_LIMIT and used < 200_000, path


def test_retry_and_remove_by_id_read_near_the_index_not_the_whole_million(million):
    r = million
    web = Web(create_app(Resque(r, registry=Registry()), user="", password=""))
    res = web.get("/failed", params={"class": "Rare", "scan": 4000})
    rare = form_fields(res.text, "retry")[0]
    assert int(rare["index"]) == 995_999
    moved = dict(rare, index=str(995_999 + 50))  # the page's index is a little off
    res, used = measured(r, lambda: web.post("/failed", moved))
    assert res.status_code == 303 and used < 1_000_000, used
    assert json.loads(r.lindex("resque:failed", 995_999))["retried_at"]
    gone = dict(rare, action="remove", id="abcdef123456", index="500000")
    res, used = measured(r, lambda: web.post("/failed", gone))
    assert res.status_code == 404 and used < 1_000_000, used  # the whole list is 200 MB
    assert r.llen("resque:failed") == 1_000_000


def test_the_key_browser_reads_windows_of_big_sets_hashes_and_strings(r, client):
    members = [f"member-{i:06d}" for i in range(100_000)]
    with r.pipeline(transaction=False) as pipe:
        for i in range(0, len(members), 10_000):
            pipe.sadd("resque:bigset", *members[i:i + 10_000])
            pipe.hset("resque:bighash", mapping={m: "v" * 50 for m in members[i:i + 10_000]})
        pipe.execute()
    r.set("resque:bigstring", "s" * (5 * MB))
    web = Web(create_app(client, user="", password=""))
    web.get("/overview")
    seen: set[str] = set()
    for key in ("bigset", "bighash", "bigstring"):
        res, used = measured(r, lambda: web.get(f"/stats/keys/{key}"))
        assert res.status_code == 200 and used < 100_000 and len(res.content) < 100_000, key
    res = web.get("/stats/keys/bigset")
    seen.update(re.findall(r"member-\d{6}", res.text))
    nxt = re.search(r'rel="next" href="[^"]*start=(\d+)"', res.text)
    assert nxt, "a cursor to the next window"
    res = web.get("/stats/keys/bigset", params={"start": nxt.group(1)})
    more = set(re.findall(r"member-\d{6}", res.text))
    assert more and not more <= seen
    assert "Only the first 4 KB of 5.0 MB are shown" in text_of(web.get("/stats/keys/bigstring").text)


def test_the_key_browser_cuts_huge_members_of_sets_hashes_and_sorted_sets(r, client):
    huge = "m" * (8 * MB)
    r.sadd("resque:hugeset", huge, "small")
    r.hset("resque:hugehash", mapping={"field": huge, huge: "value"})
    r.zadd("resque:hugezset", {huge: 1, "small": 2})
    r.rpush("resque:hugelist", huge)
    web = Web(create_app(client, user="", password=""))
    web.get("/overview")
    for key in ("hugeset", "hugehash", "hugezset", "hugelist"):
        res, used = measured(r, lambda: web.get(f"/stats/keys/{key}"))
        assert res.status_code == 200 and used < 100_000 and len(res.content) < 100_000, (key, used)
        assert "m" * 4000 + "…" in res.text, key
    assert "field: " in web.get("/stats/keys/hugehash").text


@pytest.mark.parametrize("record, expected", [
    (b'{"queue":"q","run_at":"t","payload":{"class":"C","args":[1,"abc', {"queue": "q", "run_at": "t",
     "payload": {"class": "C", "args": [1, "abc…"]}}),
    (b'{"class":"C","args":[{"k":[1,2', {"class": "C", "args": [{"k": [1, "…"]}]}),  # 2 or 25?
    (b'{"class":"C","args":[{"k":[1,2],"j', {"class": "C", "args": [{"k": [1, 2]}]}),
    (b'{"class":"C","args":["\\u00e9\\u00', {"class": "C", "args": ["é…"]}),
    (b'{"class":"C","args":[tru', {"class": "C", "args": ["…"]}),
])
def test_a_cut_record_decodes_as_far_as_it_goes(record, expected):
    assert decode_cut(Cut(10 * len(record), record)) == (expected, True)


def test_a_cut_failure_record_takes_its_last_members_from_the_tail():
    full = ruby_json(dict(RUBY_FAILURE, payload={"class": "C", "args": ["y" * 5000, {"exception": "no"}]}))
    value, cut = decode_cut(Cut(len(full), full[:200], full[-400:]))
    assert cut and value["payload"]["class"] == "C" and value["exception"] == "NameError"
    assert value["queue"] == "critical" and value["backtrace"] == RUBY_FAILURE["backtrace"]
