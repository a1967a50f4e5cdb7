"""The failed page: pages, filters, retry/remove/retry all/clear, and 100,000 failures."""
from __future__ import annotations

import json
import re

import pytest

from resque import Registry, Resque
from resque.failure import RedisMultiQueueFailure
from resque.web import create_app
from tests.web_helpers import (  # noqa: F401 - fixtures
    no_auth_env, shared_app, web,
    RUBY_DIRTY, RUBY_FAILURE, Web, form_fields, python_failure, ruby_json, seed, text_of,
)


def failed(r, key="resque:failed"):
    return [json.loads(x) for x in r.lrange(key, 0, -1)]


def test_failed_page_shows_ruby_and_python_failures_newest_first(web):
    res = web.get("/failed")
    page = text_of(res.text)
    assert "Showing 1–3 of 3 failures" in page
    order = [page.index(s) for s in ("disk full", "SIGKILL", "uninitialized constant Archive")]
    assert order == sorted(order)
    assert "ruby-box.example.com:4242 on critical at 2024/05/01 12:34:56 UTC" in page
    assert "Class Archive Arguments 44 \"masterbrew\" Exception NameError" in page
    assert "NotifyJob (via ActiveJob)" in page
    assert "Retried 2024/05/02 09:00:00 EST" in page
    assert "/app/lib/archive.rb:10:in `perform&#39;\n/app/lib/archive.rb:3:in `run&#39;" in res.text
    assert '<details class="backtrace">' in res.text  # the backtrace toggle
    assert "OSError" in page and "disk full" in page
    # the retried failure has Remove but no Retry
    retry_ids = {f["id"] for f in form_fields(res.text, "retry")}
    remove_ids = {f["id"] for f in form_fields(res.text, "remove")}
    assert len(retry_ids) == 2 and len(remove_ids) == 3 and retry_ids < remove_ids


def test_failed_page_oldest_first_order(web):
    page = text_of(web.get("/failed", params={"order": "asc"}).text)
    assert page.index("uninitialized constant") < page.index("disk full")


def test_failed_pagination_and_filters(web, client):
    for i in range(30):
        python_failure(client, queue="bulk" if i % 3 else "other", message=f"err-{i}",
                       payload={"class": "Even" if i % 2 == 0 else "Odd", "args": [i]})
    first = web.get("/failed")
    assert "Showing 1–20 of 33 failures" in text_of(first.text)
    assert "err-29" in first.text and "err-10" in first.text and "err-9" not in first.text
    assert 'href="/failed?start=20"' in first.text
    second = text_of(web.get("/failed", params={"start": 20}).text)
    assert "Showing 21–33 of 33 failures" in second and "err-9" in second and "err-10" not in second
    odd = web.get("/failed", params={"class": "Odd"})
    assert "with class Odd" in text_of(odd.text) and "Showing 1–15 of 15 failures" in text_of(odd.text)
    assert "err-28" not in odd.text and "err-29" in odd.text
    other = text_of(web.get("/failed", params={"queue": "other"}).text)
    assert "from queue other" in other and "Showing 1–10 of 10 failures" in other
    both = text_of(web.get("/failed", params={"queue": "bulk", "class": "Even"}).text)
    assert "Showing 1–10 of 10 failures" in both
    paged = web.get("/failed", params={"class": "Odd", "start": 0})
    assert "more" not in re.sub(r"\s+", " ", paged.text).split("failures")[0]  # 15 fit on one page
    activejob = text_of(web.get("/failed", params={"class": "NotifyJob"}).text)
    assert "Showing 1–1 of 1 failures" in activejob


def test_filtered_page_stops_scanning_after_the_page(web, client):
    for i in range(45):
        python_failure(client, message=f"m-{i}", payload={"class": "Many", "args": [i]})
    res = text_of(web.get("/failed", params={"class": "Many", "start": 20}).text)
    assert "Showing 21–40 (more follow)" in res


def test_retry_one_marks_it_and_pushes_the_job_back(web, r):
    res = web.get("/failed")
    target = next(f for f in form_fields(res.text, "retry") if f["index"] == "0")
    out = web.post("/failed", target)
    assert out.status_code == 303 and out.headers["location"] == "/failed"
    records = failed(r)
    assert records[0]["retried_at"] and list(records[0])[-1] == "retried_at"
    assert r.lrange("resque:queue:critical", -1, -1) == [b'{"class":"Archive","args":[44,"masterbrew"]}']
    assert "Retried" in text_of(web.get("/failed").text)


def test_retry_via_xhr_answers_json(web, r):
    target = next(f for f in form_fields(web.get("/failed").text, "retry") if f["index"] == "2")
    out = web.post("/failed", target, headers={"X-Requested-With": "XMLHttpRequest"})
    assert out.status_code == 200 and out.json["queue"] == "py_q"
    assert re.fullmatch(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \S+", out.json["retried_at"])
    assert r.llen("resque:queue:py_q") == 2


def test_retry_and_remove_hit_the_right_record_after_the_list_moved(web, r):
    fields = form_fields(web.get("/failed").text, "remove")
    ruby = next(f for f in fields if f["index"] == "0")
    r.lpop("resque:failed")  # someone else removed the head: every index shifts
    r.lpush("resque:failed", ruby_json(dict(RUBY_FAILURE, error="a newcomer")))
    r.lpush("resque:failed", b"not json at all")
    out = web.post("/failed", ruby)
    assert out.status_code == 404  # the record it named is gone; nothing else removed
    assert len(failed_raw := r.lrange("resque:failed", 0, -1)) == 4 and failed_raw[0] == b"not json at all"
    py = next(f for f in fields if f["index"] == "2")
    assert web.post("/failed", py).status_code == 303
    assert all(b"disk full" not in x for x in r.lrange("resque:failed", 0, -1))
    assert r.llen("resque:failed") == 3


def test_unreadable_failure_records_render(web, r):
    r.rpush("resque:failed", b"not json", b'{"payload":null,"worker":null,"backtrace":"one\\ntwo"}', b"[1,2]")
    res = web.get("/failed")
    assert res.status_code == 200
    page = text_of(res.text)
    assert "unreadable" in page and "no worker" in page and "Showing 1–6 of 6 failures" in page


def test_remove_one(web, r):
    target = next(f for f in form_fields(web.get("/failed").text, "remove") if f["index"] == "1")
    assert web.post("/failed", target).status_code == 303
    assert [x["exception"] for x in failed(r)] == ["NameError", "OSError"]


def test_retry_all_clear_and_clear_retried(web, r, client):
    assert web.post("/failed", {"action": "clear_retried"}).status_code == 303
    assert [x["exception"] for x in failed(r)] == ["NameError", "OSError"]
    assert web.post("/failed", {"action": "retry_all"}).status_code == 303
    assert all("retried_at" in x for x in failed(r))
    assert r.llen("resque:queue:critical") == 3 and r.llen("resque:queue:py_q") == 2
    out = web.post("/failed", {"action": "clear"})
    assert out.status_code == 303 and r.exists("resque:failed") == 0


def test_retry_all_and_clear_respect_filters(web, r, client):
    python_failure(client, queue="other", message="keep me", payload={"class": "K", "args": []})
    web.post("/failed", {"action": "retry_all", "queue": "py_q"})
    retried = [x["queue"] for x in failed(r) if "retried_at" in x]
    assert retried == ["mail", "py_q"]  # mail was retried by Ruby already
    out = web.post("/failed", {"action": "clear", "class": "tests.jobs.Record"})
    assert out.headers["location"] == "/failed?class=tests.jobs.Record"
    assert [x["error"] for x in failed(r)] == [RUBY_FAILURE["error"], RUBY_DIRTY["error"], "keep me"]


def test_unknown_or_bad_actions_are_rejected(web, r):
    assert web.post("/failed", {"action": "explode"}).status_code == 400
    assert web.post("/failed", {"action": "retry", "id": "zz", "index": "0"}).status_code == 400
    assert web.post("/failed", {"action": "retry", "id": "abcdef123456", "index": "0"}).status_code == 404
    assert web.post("/failed/nope", {"action": "clear"}).status_code == 404
    assert r.llen("resque:failed") == 3


def test_rubys_get_retry_and_remove_change_nothing(web, r):
    before = r.lrange("resque:failed", 0, -1)
    for path in ("/failed/requeue/0", "/failed/remove/0", "/failed/requeue/all",
                 "/failed/failed/remove/1", "/failed/clear"):
        res = web.get(path)
        assert res.status_code in (404, 405), path
    assert web.get("/failed/requeue/0").status_code == 405
    assert r.lrange("resque:failed", 0, -1) == before and r.llen("resque:queue:critical") == 2


def test_multi_queue_actions_act_on_one_list(r):
    client = Resque(r, registry=Registry(), failure=RedisMultiQueueFailure)
    python_failure(client, queue="high")
    python_failure(client, queue="low")
    w = Web(create_app(client))
    page = w.get("/failed/high_failed")
    target = form_fields(page.text, "retry")[0]
    assert target["list"] == "high_failed"
    out = w.post("/failed/high_failed", target)
    assert out.status_code == 303 and out.headers["location"] == "/failed/high_failed"
    assert "retried_at" in json.loads(r.lindex("resque:high_failed", 0))
    assert r.llen("resque:queue:high") == 1
    w.post("/failed/low_failed", {"action": "retry_all"})
    assert r.llen("resque:queue:low") == 1
    w.post("/failed/low_failed", {"action": "clear"})
    assert r.exists("resque:low_failed") == 0 and r.llen("resque:high_failed") == 1
    w.post("/failed", {"action": "clear"})
    assert r.exists("resque:high_failed") == 0


def test_hundred_thousand_failures_page_reads_only_its_window(r, client):
    record = ruby_json(dict(RUBY_FAILURE, backtrace=["/app/lib/x.rb:1:in `y'"] * 10))
    with r.pipeline(transaction=False) as pipe:
        for _ in range(100):
            pipe.rpush("resque:failed", *([record] * 1000))
        pipe.execute()
    w = Web(create_app(client))
    w.get("/overview")
    probe = r  # a separate connection reading the server's byte counter

    def sent() -> int:
        return int(probe.info("stats")["total_net_output_bytes"])

    before = sent()
    res = w.get("/failed", params={"start": 50_000})
    used = sent() - before
    assert res.status_code == 200
    assert "Showing 50001–50020 of 100000 failures" in text_of(res.text)
    assert res.text.count('<li class="failure') == 20
    list_bytes = 100_000 * len(record)
    assert used < 40 * len(record) + 50_000, (used, list_bytes)
    before = sent()
    assert w.get("/overview").status_code == 200 and w.get("/metrics").status_code == 200
    assert sent() - before < 100_000


def test_failed_page_links_only_to_registered_workers(web, client, r):
    python_failure(client, worker="gone-host:31337:q", message="from a worker long gone")
    res = web.get("/failed")
    links = re.findall(r'href="(/workers/[^"]+)"', res.text)
    assert links and all(web.get(link.replace("&amp;", "&")).status_code == 200 for link in links)
    assert "gone-host" not in "".join(links)
    assert "gone-host:31337" in text_of(res.text)  # still named, as text
    assert "/workers/ruby-box.example.com%3A4242%3Acritical%2Chigh%2C%2A" in links
