"""Failure backends: Ruby's record shape, and retry/remove that find the right record."""
from __future__ import annotations

import json
import re

import pytest

from resque import DirtyExit, Registry, Resque
from resque.failure import MultipleFailure, RedisFailure, RedisMultiQueueFailure, build_record
from resque.keys import parse_time

FAILED_AT = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \S+$")


def _boom():
    raise ValueError("bad thing")


def record_for(exc_factory=_boom, queue="high", payload=None, worker="h:1:high"):
    try:
        exc_factory()
    except Exception as exc:  # noqa: BLE001 - building a record from any error
        return build_record(exc, worker, queue, payload or {"class": "A", "args": [1]})
    raise AssertionError("did not raise")


def test_record_has_rubys_members_in_order_and_formats():
    rec = json.loads(record_for())
    assert list(rec) == ["failed_at", "payload", "exception", "error", "backtrace", "worker", "queue"]
    assert FAILED_AT.match(rec["failed_at"]) and parse_time(rec["failed_at"]) is not None
    assert rec["exception"] == "ValueError" and rec["error"] == "bad thing"
    assert rec["backtrace"] and rec["backtrace"][0].endswith(":in `_boom'")
    assert rec["worker"] == "h:1:high" and rec["queue"] == "high"


def test_dirty_exit_uses_ruby_exception_name_and_empty_backtrace():
    rec = json.loads(build_record(DirtyExit("Child process received unhandled signal pid 9 SIGKILL (signal 9)"), "w", "q", {}))
    assert rec["exception"] == "Resque::DirtyExit" and rec["backtrace"] == []


@pytest.fixture
def backend(client):
    return RedisFailure(client.store)


def _fill(backend, n, queue="high"):
    for i in range(n):
        backend.save(record_for(payload={"class": "A" if i % 2 == 0 else "B", "args": [i]}, queue=queue), queue)


def test_save_rpushes_to_failed(backend, r):
    _fill(backend, 3)
    assert r.llen("resque:failed") == 3 and backend.count() == 3
    assert backend.count(class_name="A") == 2


def test_each_desc_reverses_within_the_window_like_ruby(backend):
    _fill(backend, 5)
    got = [(f.index, f.args[0]) for f in backend.each(1, 3)]
    assert got == [(3, 3), (2, 2), (1, 1)]
    assert [f.index for f in backend.each(0, 2, order="asc")] == [0, 1]
    assert [f.args[0] for f in backend.each(0, 2, class_name="B")] == [3, 1]


def test_requeue_marks_retried_at_last_and_pushes_clean_payload(backend, r):
    r.rpush("resque:failed", json.dumps({
        "failed_at": "2024/05/01 12:34:56 UTC", "payload": {"class": "A", "args": [1], "extra": 1},
        "exception": "E", "error": "e", "backtrace": [], "worker": "w", "queue": "high"}))
    stamp = backend.requeue(0)
    rec = json.loads(r.lindex("resque:failed", 0))
    assert list(rec)[-1] == "retried_at" and rec["retried_at"] == stamp and FAILED_AT.match(stamp)
    assert r.lrange("resque:queue:high", 0, -1) == [b'{"class":"A","args":[1]}']
    assert b"high" in r.smembers("resque:queues")
    assert r.llen("resque:failed") == 1  # the record stays


def test_remove_and_requeue_hit_the_right_record_after_the_list_moved(backend, r):
    _fill(backend, 4)
    target = backend.all(2, 1)[0]  # args [2]
    r.lpop("resque:failed")  # someone removed the head: index 2 now holds args [3]
    assert backend.remove(target)
    assert [json.loads(x)["payload"]["args"][0] for x in r.lrange("resque:failed", 0, -1)] == [1, 3]
    assert not backend.remove(target)  # already gone: nothing else is removed
    assert r.llen("resque:failed") == 2


def test_find_by_stable_id_and_remove_by_id(backend, r):
    _fill(backend, 3)
    f = backend.all(1, 1)[0]
    r.lpop("resque:failed")
    assert backend.find(f.id).args == [1]
    assert backend.remove(f.id)
    assert backend.count() == 1


def test_requeue_all_and_by_queue_and_class(backend, r):
    _fill(backend, 2, queue="high")
    _fill(backend, 2, queue="low")
    assert backend.requeue_queue("low") == 2 and r.llen("resque:queue:low") == 2
    assert backend.requeue_class("B") == 2
    assert backend.requeue_all() == 4
    assert r.llen("resque:queue:high") == 1 + 2


def test_remove_queue_and_clear_and_clear_retried(backend):
    _fill(backend, 2, queue="high")
    _fill(backend, 3, queue="low")
    assert backend.remove_queue("high") == 2 and backend.count() == 3
    backend.requeue(0)
    assert backend.clear_retried() == 1 and backend.count() == 2
    assert backend.clear() == 1 and backend.count() == 0


def test_ruby_written_records_are_read(backend, r):
    r.rpush("resque:failed", b'{"failed_at":"2024/05/01 12:34:56 CET","payload":{"class":"Foo::Bar","args":[1,"two"]},'
            b'"exception":"NameError","error":"uninitialized constant Foo","backtrace":["/app/x.rb:1:in `y\'"],'
            b'"worker":"web-1:4242:high","queue":"high"}')
    f = backend.all(0, 1)[0]
    assert f.job_class == "Foo::Bar" and f.args == [1, "two"] and f.queue == "high"
    assert f.data["exception"] == "NameError"


def test_multi_queue_backend_uses_per_queue_lists(client, r):
    b = RedisMultiQueueFailure(client.store)
    b.save(record_for(queue="high"), "high")
    b.save(record_for(queue="low"), "low")
    assert r.smembers("resque:failed_queues") == {b"high_failed", b"low_failed"}
    assert r.llen("resque:high_failed") == 1 and r.llen("resque:failed") == 0
    assert b.queues() == ["high_failed", "low_failed"] and b.count() == 2
    stamp = b.requeue(0, "high_failed")
    assert re.match(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d$", stamp)  # no zone in this backend
    assert r.llen("resque:queue:high") == 1
    assert b.clear() == 2


def test_multiple_backend_saves_everywhere_reads_first(client, r):
    first, second = RedisFailure(client.store), RedisMultiQueueFailure(client.store)
    m = MultipleFailure([first, second])
    m.save(record_for(queue="high"), "high")
    assert r.llen("resque:failed") == 1 and r.llen("resque:high_failed") == 1
    assert m.count() == 1 and m.queues() == ["failed"]


def test_failure_backend_from_env(r, monkeypatch):
    monkeypatch.setenv("FAILURE_BACKEND", "redis_multi_queue")
    assert isinstance(Resque(r, registry=Registry()).failure, RedisMultiQueueFailure)
    monkeypatch.setenv("FAILURE_BACKEND", "nope")
    with pytest.raises(Exception, match="FAILURE_BACKEND"):
        Resque(r, registry=Registry())
