"""The Schedule and Delayed tabs: Ruby-written data, bounded pages, POST + CSRF actions."""
from __future__ import annotations

import json
import time
from typing import Any

import pytest

from resque import Registry, Resque
from resque.scheduler import views
from resque.scheduler.web import install
from resque.web import create_app
from tests import scheduler_jobs as jobs
from tests.web_helpers import Web, form_fields, text_of

LOCK = "resque:resque:resque_scheduler_master_lock"


@pytest.fixture(scope="module")
def app(redis_server: Any) -> Any:
    client = Resque(redis_server.url, registry=Registry())
    jobs.register(client.registry)
    return create_app(client, user="", password="", plugins=[install])


@pytest.fixture
def web(r: Any, app: Any, monkeypatch: pytest.MonkeyPatch) -> Web:
    monkeypatch.delenv("RESQUE_WEB_USER", raising=False)
    monkeypatch.delenv("RESQUE_WEB_PASSWORD", raising=False)
    monkeypatch.delenv("RESQUE_SCHEDULE", raising=False)
    return Web(app)


def ruby_delayed(r: Any, ts: int, *items: bytes) -> None:
    """Write delayed items the way resque-scheduler 5 does."""
    for item in items:
        r.rpush(f"resque:delayed:{ts}", item)
        r.sadd(b"resque:timestamps:" + item, f"delayed:{ts}")
    r.zadd("resque:delayed_queue_schedule", {str(ts): ts})


def test_tabs_are_added(web: Web) -> None:
    html = web.get("/overview").text
    assert 'href="/schedule"' in html and 'href="/delayed"' in html


def test_delayed_tab_shows_ruby_items_counts_and_oddities(web: Web, r: Any) -> None:
    t = int(time.time()) + 3600
    ruby_delayed(r, t, b'{"class":"SomeJob","args":[1],"queue":"smoke_q"}')
    ruby_delayed(r, t + 60, b'{"class":"A","args":[],"queue":"q"}', b'{"class":"B","args":[2],"queue":"q"}')
    r.zadd("resque:delayed_queue_schedule", {f"{t + 120}.5": t + 120.5})
    r.rpush(f"resque:delayed:{t + 120}.5", b"not json")
    r.hset("resque:delayed:last_enqueued_at", "x", "2026-12-02 06:23:55 +0000")
    page = text_of(web.get("/delayed").text)
    assert "SomeJob" in page and "see details" in page and f"{t + 120}.5" in page
    api = web.get("/api/delayed").json
    assert [s["size"] for s in api["seconds"]] == [1, 2, 1] and api["total"] == 3
    second = text_of(web.get(f"/delayed/{t + 60}").text)
    assert "A" in second and "B" in second
    assert "not json" in text_of(web.get(f"/delayed/{t + 120}.5").text)


def test_delayed_pages_are_bounded(web: Web, r: Any) -> None:
    t = int(time.time()) + 3600
    for i in range(45):
        ruby_delayed(r, t + i, json.dumps({"class": "SomeJob", "args": [i], "queue": "q"}).encode())
    api = web.get("/api/delayed", params={"start": 40}).json
    assert len(api["seconds"]) == 5 and api["page"]["prev"] == 20
    assert len(web.get("/api/delayed").json["seconds"]) == 20
    many = [json.dumps({"class": "X", "args": [i], "queue": "q"}).encode() for i in range(30)]
    ruby_delayed(r, t + 999, *many)
    one = web.get(f"/api/delayed/{t + 999}", params={"start": 20}).json
    assert len(one["items"]) == 10 and one["total"] == 30


def test_queue_now_takes_one_item_of_a_second(web: Web, r: Any) -> None:
    t = int(time.time()) + 3600
    ruby_delayed(r, t, b'{"class":"SomeJob","args":[1],"queue":"smoke_q"}',
                 b'{"class":"SomeJob","args":[2],"queue":"smoke_q"}')
    [fields] = form_fields(web.get("/delayed").text, "queue_now")
    result = web.post("/delayed", fields)
    assert result.status_code == 303
    assert r.lrange("resque:queue:smoke_q", 0, -1) == [b'{"class":"SomeJob","args":[1]}']
    assert r.llen(f"resque:delayed:{t}") == 1


def test_posts_need_the_csrf_token(web: Web, r: Any) -> None:
    ruby_delayed(r, int(time.time()) + 3600, b'{"class":"SomeJob","args":[1],"queue":"smoke_q"}')
    assert web.post("/delayed", {"action": "clear"}, send_token=False).status_code == 403
    assert r.exists("resque:delayed_queue_schedule")
    assert web.post("/delayed", {"action": "clear"}).status_code == 303
    assert not r.exists("resque:delayed_queue_schedule")


def test_search_finds_by_class_and_args_and_can_queue_or_delete(web: Web, r: Any) -> None:
    t = int(time.time()) + 3600
    ruby_delayed(r, t, b'{"class":"Billing::Charge","args":[42,"eur"],"queue":"billing"}',
                 b'{"class":"SomeJob","args":[7],"queue":"smoke_q"}')
    html = web.get("/delayed", params={"search": "billing"}).text
    assert "1 delayed job matching" in text_of(html)
    [fields] = form_fields(html, "enqueue_item")
    assert web.post("/delayed", fields).status_code == 303
    assert r.lrange("resque:queue:billing", 0, -1) == [b'{"class":"Billing::Charge","args":[42,"eur"]}']
    assert not r.exists(b'resque:timestamps:{"class":"Billing::Charge","args":[42,"eur"],"queue":"billing"}')
    html = web.get("/delayed", params={"search": "7"}).text
    [fields] = [f for f in form_fields(html, "delete_item") if "SomeJob" in f["item"]]
    web.post("/delayed", fields)
    assert not r.exists(f"resque:delayed:{t}")  # the member stays until due, as Ruby's


def test_delete_one_item_and_queue_all_of_a_second(web: Web, r: Any) -> None:
    t = int(time.time()) + 3600
    ruby_delayed(r, t, b'{"class":"SomeJob","args":[1],"queue":"smoke_q"}',
                 b'{"class":"SomeJob","args":[2],"queue":"smoke_q"}', b'{"class":"SomeJob","args":[3],"queue":"smoke_q"}')
    html = web.get(f"/delayed/{t}").text
    first = form_fields(html, "delete_item")[0]
    web.post(f"/delayed/{t}", first)
    assert r.llen(f"resque:delayed:{t}") == 2
    web.post(f"/delayed/{t}", {"action": "queue_all"})
    assert r.llen("resque:queue:smoke_q") == 2 and not r.exists("resque:delayed_queue_schedule")
    assert web.get(f"/delayed/{t}").status_code == 404


def test_schedule_tab_lists_dynamic_and_static_entries_with_master(web: Web, r: Any, tmp_path: Any,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    r.hset("resque:persistent_schedules", "nightly",
           b'{"class":"SomeJob","cron":"30 2 * * * Europe/Berlin","args":{"x":1}}')
    r.hset("resque:persistent_schedules", "broken", b'{"class":"X","cron":"bad cron"}')
    r.hset("resque:delayed:last_enqueued_at", "nightly", "2026-12-02 06:23:55 +0000")
    r.set(LOCK, "localhost:1654", ex=100)
    static = tmp_path / "s.yml"
    static.write_text("hourly:\n  cron: '@hourly'\n  class: Py::Only\n  queue: pyq\n  description: every hour\n")
    monkeypatch.setenv("RESQUE_SCHEDULE", str(static))
    page = text_of(web.get("/schedule").text)
    assert "localhost:1654" in page and "2026-12-02 06:23:55 +0000" in page
    assert "cron: 30 2 * * * Europe/Berlin" in page and "every hour" in page and "invalid cron" in page
    api = web.get("/api/schedule").json
    assert {e["name"]: e["source"] for e in api["entries"]} == {
        "broken": "dynamic", "hourly": "static", "nightly": "dynamic"}


def test_schedule_queue_now_and_delete(web: Web, r: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    r.hset("resque:persistent_schedules", "nightly", b'{"class":"SomeJob","cron":"30 2 * * *","args":[5]}')
    static = tmp_path / "s.yml"
    static.write_text("hourly:\n  cron: '@hourly'\n  class: Py::Only\n  queue: pyq\n")
    monkeypatch.setenv("RESQUE_SCHEDULE", str(static))
    html = web.get("/schedule").text
    assert len(form_fields(html, "delete")) == 1  # static entries cannot be deleted
    web.post("/schedule", {"action": "enqueue", "name": "nightly"})
    web.post("/schedule", {"action": "enqueue", "name": "hourly"})
    assert r.lrange("resque:queue:smoke_q", 0, -1) == [b'{"class":"SomeJob","args":[5]}']
    assert r.lrange("resque:queue:pyq", 0, -1) == [b'{"class":"Py::Only","args":[]}']
    assert not r.hexists("resque:delayed:last_enqueued_at", "nightly")  # as Ruby
    assert web.post("/schedule", {"action": "delete", "name": "nightly"}).status_code == 303
    assert not r.hexists("resque:persistent_schedules", "nightly")
    assert r.smembers("resque:schedules_changed") == {b"nightly"}
    assert web.post("/schedule", {"action": "delete", "name": "hourly"}).status_code == 400
    assert web.post("/schedule", {"action": "enqueue", "name": "nope"}).status_code == 404


def test_names_are_escaped(web: Web, r: Any) -> None:
    r.hset("resque:persistent_schedules", "<script>x</script>", b'{"class":"<b>C</b>","every":"1m"}')
    html = web.get("/schedule").text
    assert "<script>x</script>" not in html and "&lt;script&gt;" in html


def test_next_run_of_an_interval_continues_from_its_last_firing(web: Web, r: Any) -> None:
    r.hset("resque:persistent_schedules", "poll", b'{"class":"SomeJob","every":"1h","queue":"q"}')
    fired = time.time() - 600
    r.hset("resque:scheduler:fired", "poll", repr(fired))
    [entry] = web.get("/api/schedule").json["entries"]
    assert entry["next_run"] == pytest.approx(fired + 3600)
    assert entry["last_fired"] == pytest.approx(fired)


def test_search_reads_a_bounded_number_of_items(web: Web, r: Any) -> None:
    t = int(time.time()) + 3600
    ruby_delayed(r, t, *[json.dumps({"class": "Bulk", "args": [i], "queue": "q"}).encode() for i in range(2500)])
    client = Resque(r, registry=Registry())
    found = views.search_delayed(client, "bulk", limit=5000, scan=1500)
    assert found["read"] == 2000 and not found["complete"] and len(found["hits"]) == 2000
    found = views.search_delayed(client, "[2499]", limit=5)
    assert found["complete"] and found["read"] == 2500 and len(found["hits"]) == 1
    assert "search stopped after 1000 jobs" in text_of(web.get("/delayed", params={"search": "bulk"}).text)


def test_a_huge_delayed_item_is_shown_cut_without_reading_it_whole(web: Web, r: Any) -> None:
    t = int(time.time()) + 3600
    huge = json.dumps({"class": "Big::Job", "args": ["x" * 5_000_000], "queue": "bulk"}, separators=(",", ":")).encode()
    ruby_delayed(r, t, huge, b'{"class":"Small","args":[1],"queue":"q"}')
    one = web.get(f"/api/delayed/{t}").json
    assert one["items"][0]["cut"] and one["items"][0]["class"] == "Big::Job"
    assert one["items"][0]["queue"] == "bulk" and one["items"][0]["size"] == len(huge)
    assert len(web.get(f"/delayed/{t}").text) < 100_000
    assert len(form_fields(web.get(f"/delayed/{t}").text, "delete_item")) == 1  # only the whole one
