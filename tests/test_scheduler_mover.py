"""Moving due items: batches, atomicity, bad data, hooks (checklist 8-13, 22, 39)."""
from __future__ import annotations

import time

import pytest

from resque._compat import loads
from resque.scheduler.delayed import item_bytes
from resque.scheduler.mover import MAX_BATCH, Mover, handle_delayed_items
from resque.scheduler.store import Move
from tests import scheduler_jobs as jobs
from tests.scheduler_jobs import c  # noqa: F401 - fixture
from tests.monitor import Monitor

ITEM = b'{"class":"SomeJob","args":[1],"queue":"smoke_q"}'


def _failures(r):  # type: ignore[no-untyped-def]
    return [loads(x) for x in r.lrange("resque:failed", 0, -1)]


def test_one_pass_moves_a_second_in_ruby_command_order(c, r, redis_server):  # type: ignore[no-untyped-def]
    t = int(time.time()) - 1
    c.store.redis.rpush(f"resque:delayed:{t}", ITEM)
    r.sadd(b"resque:timestamps:" + ITEM, f"delayed:{t}")
    r.zadd("resque:delayed_queue_schedule", {str(t): t})
    Mover(c).store.move_batch("0", [])  # load the script first: no SCRIPT LOAD in the capture
    with Monitor(str(redis_server.socket)) as mon:
        assert handle_delayed_items(c, at=t + 5) == 1
    names = [n for n in mon.names() if n not in ("CLIENT", "HELLO")]
    assert names == ["ZRANGEBYSCORE", "LRANGE", "EVALSHA", "LRANGE", "SREM", "SADD", "RPUSH",
                     "LTRIM", "LLEN", "DEL", "ZREM", "ZRANGEBYSCORE"]
    words = list(mon.words())
    assert words[0] == [b"ZRANGEBYSCORE", b"resque:delayed_queue_schedule", b"-inf", str(t + 5).encode(),
                        b"LIMIT", b"0", b"1"]
    lua = list(mon.words(lua=True))
    assert [b"SREM", b"resque:timestamps:" + ITEM, f"delayed:{t}".encode()] in lua
    assert [b"RPUSH", b"resque:queue:smoke_q", b'{"class":"SomeJob","args":[1]}'] in lua
    assert [b"LTRIM", f"resque:delayed:{t}".encode(), b"1", b"-1"] in lua
    assert sorted(r.keys()) == [b"resque:queue:smoke_q", b"resque:queues"]


def test_batches_of_batch_size_oldest_second_first_fifo(c, r, monkeypatch):  # type: ignore[no-untyped-def]
    t = int(time.time()) + 1000
    c.enqueue_at(t + 1, "SomeJob", "late")
    for i in range(250):
        c.enqueue_at(t, jobs.SomeJob, i)
    batches = []
    mover = Mover(c, batch_size=100)
    real = mover.store.move_batch
    monkeypatch.setattr(mover.store, "move_batch", lambda m, moves: batches.append(len(moves)) or real(m, moves))
    assert mover.handle_delayed_items(at=t + 1) == 251
    assert batches == [100, 100, 50, 1]
    queued = [loads(x)["args"][0] for x in r.lrange("resque:queue:smoke_q", 0, -1)]
    assert queued == list(range(250)) + ["late"]
    assert not r.exists("resque:delayed_queue_schedule")


def test_overdue_items_of_many_seconds_all_move_in_one_pass(c, r):  # type: ignore[no-untyped-def]
    t = int(time.time()) + 1000
    for i in range(30):
        c.enqueue_at(t + i * 7, jobs.SomeJob, i)
    assert handle_delayed_items(c, at=t + 1000) == 30
    assert r.llen("resque:queue:smoke_q") == 30 and c.delayed_queue_schedule_size() == 0


def test_items_not_due_stay(c, r):  # type: ignore[no-untyped-def]
    t = int(time.time()) + 1000
    c.enqueue_at(t, jobs.SomeJob, 1)
    assert handle_delayed_items(c, at=t - 1) == 0
    assert c.delayed_timestamp_size(t) == 1


def test_a_changed_bucket_aborts_the_batch_and_moves_nothing(c, r):  # type: ignore[no-untyped-def]
    t = int(time.time()) + 1000
    c.enqueue_at(t, jobs.SomeJob, 1)
    c.enqueue_at(t, jobs.SomeJob, 2)
    mover = Mover(c)
    raws = mover.store.bucket_head(str(t), 100)
    plan = [mover.plan(str(t), raw) for raw in raws]
    r.lpop(f"resque:delayed:{t}")  # another mover took the first item meanwhile
    assert mover.store.move_batch(str(t), [p.move for p in plan]) == -1
    assert not r.exists("resque:queue:smoke_q") and c.delayed_timestamp_size(t) == 1
    assert mover.move_second(str(t)) == 1
    assert r.lrange("resque:queue:smoke_q", 0, -1) == [b'{"class":"SomeJob","args":[2]}']


def test_duplicates_in_a_second_are_all_moved(c, r):  # type: ignore[no-untyped-def]
    t = int(time.time()) - 5
    r.rpush(f"resque:delayed:{t}", ITEM, ITEM)
    r.zadd("resque:delayed_queue_schedule", {str(t): t})
    assert handle_delayed_items(c) == 2
    assert r.llen("resque:queue:smoke_q") == 2


def test_an_empty_due_second_is_removed_from_the_schedule(c, r):  # type: ignore[no-untyped-def]
    t = int(time.time()) - 5
    r.zadd("resque:delayed_queue_schedule", {str(t): t})
    assert handle_delayed_items(c) == 0
    assert not r.exists("resque:delayed_queue_schedule")


def test_bad_items_are_set_aside_as_failures_never_dropped_or_looped_on(c, r):  # type: ignore[no-untyped-def]
    t = int(time.time()) - 5
    bad = [b"not json {", b"null", b"[1,2]", b'{"args":[1]}', b'{"class":"Py::NoQueue","args":[1]}',
           b'{"class":"X","args":[],"queue":5}']
    good = [b'{"class":"Py::Job","args":[9],"queue":"pyq"}', b'{"class":"Empty","args":[],"queue":""}']
    r.rpush(f"resque:delayed:{t}", *bad, *good)
    r.zadd("resque:delayed_queue_schedule", {str(t): t})
    assert handle_delayed_items(c) == 2
    assert r.lrange("resque:queue:pyq", 0, -1) == [b'{"class":"Py::Job","args":[9]}']
    assert r.lrange("resque:queue:", 0, -1) == [b'{"class":"Empty","args":[]}']
    failures = _failures(r)
    assert len(failures) == len(bad)
    assert {f["exception"] for f in failures} == {"Resque::Scheduler::DelayedItemError"}
    assert failures[0]["payload"] == "not json {" and "not valid JSON" in failures[0]["error"]
    assert failures[1]["payload"] is None
    assert "no queue" in failures[4]["error"]
    assert not r.exists(f"resque:delayed:{t}") and not r.exists("resque:delayed_queue_schedule")


def test_fractional_and_non_list_members_do_not_stop_the_mover(c, r):  # type: ignore[no-untyped-def]
    t = int(time.time()) - 5
    r.rpush(f"resque:delayed:{t}.5", ITEM)
    r.hset("resque:delayed:last_enqueued_at", "nightly", "2026-12-02 06:23:55 +0000")
    r.zadd("resque:delayed_queue_schedule", {f"{t}.5": t + 0.5, "last_enqueued_at": t})
    assert handle_delayed_items(c) == 1
    assert r.llen("resque:queue:smoke_q") == 1
    assert not r.exists("resque:delayed_queue_schedule")
    assert r.hget("resque:delayed:last_enqueued_at", "nightly")  # the hash is never touched
    [failure] = _failures(r)
    assert "last_enqueued_at" in failure["error"]


def test_mover_hooks_in_ruby_order_and_before_schedule_false_drops(c, r):  # type: ignore[no-untyped-def]
    t = int(time.time()) + 1000
    c.enqueue_at(t, jobs.HookJob, 1)
    jobs.CALLS.clear()
    handle_delayed_items(c, at=t)
    assert [n for n, _ in jobs.CALLS] == ["before_schedule", "before_schedule_zz", "before_delayed_enqueue",
                                          "before_enqueue", "after_enqueue", "after_schedule"]
    assert r.llen("resque:queue:hooks") == 1
    r.rpush(f"resque:delayed:{t}", b'{"class":"HookJob","args":["veto"],"queue":"hooks"}')
    r.zadd("resque:delayed_queue_schedule", {str(t): t})
    assert handle_delayed_items(c, at=t) == 0
    assert r.llen("resque:queue:hooks") == 1 and not r.exists(f"resque:delayed:{t}")


def test_a_raising_hook_sets_the_item_aside(c, r):  # type: ignore[no-untyped-def]
    t = int(time.time()) + 1000
    c.enqueue_at(t, jobs.BrokenHookJob, 1)
    assert handle_delayed_items(c, at=t) == 0
    [failure] = _failures(r)
    assert "hook is broken" in failure["error"] and failure["queue"] == "hooks"


def test_queue_now_moves_exactly_one_item_of_a_second(c, r):  # type: ignore[no-untyped-def]
    t = int(time.time()) + 1000
    c.enqueue_at(t, jobs.SomeJob, 1)
    c.enqueue_at(t, jobs.SomeJob, 2)
    mover = Mover(c)
    assert mover.move_one(str(t)) is True
    assert r.lrange("resque:queue:smoke_q", 0, -1) == [b'{"class":"SomeJob","args":[1]}']
    assert c.scheduled_at(jobs.SomeJob, 1) == [] and c.scheduled_at(jobs.SomeJob, 2) == [t]
    assert mover.move_one(str(t)) is True
    assert mover.move_one(str(t)) is False
    assert not r.exists("resque:delayed_queue_schedule")


def test_move_batch_script_checks_every_item(c, r):  # type: ignore[no-untyped-def]
    t = int(time.time())
    r.rpush(f"resque:delayed:{t}", b"a", b"b")
    mover = Mover(c)
    assert mover.store.move_batch(str(t), [Move(b"a", "drop"), Move(b"x", "drop")]) == -1
    assert mover.store.move_batch(str(t), [Move(b"a", "drop"), Move(b"b", "drop"), Move(b"c", "drop")]) == -1
    assert r.llen(f"resque:delayed:{t}") == 2


@pytest.mark.parametrize("args", [[1], [], ["é ü ☃", None, True], [{"b": 1.5, "a": [1, 2]}], [10**20], [-0.0, 1e-7]])
def test_moved_payload_is_what_either_encoder_writes(c, r, impl, args):  # type: ignore[no-untyped-def]
    t = int(time.time()) - 5
    r.rpush(f"resque:delayed:{t}", item_bytes("Py::Job", args, "pyq"))
    r.zadd("resque:delayed_queue_schedule", {str(t): t})
    assert handle_delayed_items(c) == 1
    assert r.lrange("resque:queue:pyq", 0, -1) == [impl.encode_payload("Py::Job", args)]


def test_a_mixed_batch_keeps_order_sets_bad_items_aside_and_runs_hooks(c, r, redis_server):  # type: ignore[no-untyped-def]
    t = int(time.time()) - 5
    items = [
        b'{"class":"Py::Plain","args":[1],"queue":"pyq"}',  # canonical, nothing runs here: cut in the script
        b"not json {",
        b'{"class":"HookJob","args":[2],"queue":"hooks"}',  # hooks run
        b'{"args":[3],"class":"Py::Plain","queue":"pyq"}',  # not canonical: re-encoded
        b'{"class":"Py::Plain","args":[4],"queue":"pyq","id":"x"}',  # an extra member: re-encoded
        b'{"class":"Py::Plain","args":[5],"queue":"other"}',
        b"null",
        b'{"class":"Py::Plain","args":[6],"queue":"pyq"}',
    ]
    r.rpush(f"resque:delayed:{t}", *items)
    for item in items:
        r.sadd(b"resque:timestamps:" + item, f"delayed:{t}")
    r.zadd("resque:delayed_queue_schedule", {str(t): t})
    Mover(c).store.move_batch("0", [])  # load the script first
    jobs.CALLS.clear()
    with Monitor(str(redis_server.socket)) as mon:
        assert handle_delayed_items(c) == 6
    assert r.lrange("resque:queue:pyq", 0, -1) == [
        b'{"class":"Py::Plain","args":[1]}', b'{"class":"Py::Plain","args":[3]}',
        b'{"class":"Py::Plain","args":[4]}', b'{"class":"Py::Plain","args":[6]}']
    assert r.lrange("resque:queue:other", 0, -1) == [b'{"class":"Py::Plain","args":[5]}']
    assert r.lrange("resque:queue:hooks", 0, -1) == [b'{"class":"HookJob","args":[2]}']
    assert [n for n, _ in jobs.CALLS] == ["before_schedule", "before_schedule_zz", "before_delayed_enqueue",
                                          "before_enqueue", "after_enqueue", "after_schedule"]
    failures = _failures(r)
    assert [f["payload"] for f in failures] == ["not json {", None]
    assert sorted(r.smembers("resque:queues")) == [b"hooks", b"other", b"pyq"]
    assert not r.keys("resque:timestamps:*") and not r.exists("resque:delayed_queue_schedule")
    # the script received each item once (its SREM key is built inside), and no copy of a cut payload
    [evalsha] = [w for w in mon.words() if w[0] == b"EVALSHA"]
    sent = b"".join(evalsha)
    for item in items[:1] + items[2:6] + items[7:]:  # a failure record quotes its item again
        assert sent.count(item) == 1
    assert b'{"class":"Py::Plain","args":[1]}' not in sent and b'{"class":"Py::Plain","args":[6]}' not in sent
    lua = list(mon.words(lua=True))
    assert [b"SREM", b"resque:timestamps:" + items[7], f"delayed:{t}".encode()] in lua


def test_the_head_check_compares_item_boundaries_not_only_bytes(c, r):  # type: ignore[no-untyped-def]
    t = int(time.time())
    r.rpush(f"resque:delayed:{t}", b"a", b"bc")
    mover = Mover(c)
    assert mover.store.move_batch(str(t), [Move(b"ab", "drop"), Move(b"c", "drop")]) == -1
    r.lset(f"resque:delayed:{t}", 1, b"bd")  # same lengths, other bytes
    assert mover.store.move_batch(str(t), [Move(b"a", "drop"), Move(b"bc", "drop")]) == -1
    assert r.lrange(f"resque:delayed:{t}", 0, -1) == [b"a", b"bd"]
    assert mover.store.move_batch(str(t), [Move(b"a", "drop"), Move(b"bd", "drop")]) == 0


def test_a_bucket_changed_between_read_and_move_is_read_again(c, r, monkeypatch):  # type: ignore[no-untyped-def]
    t = int(time.time()) - 5
    first = [item_bytes("Py::Plain", [i], "pyq") for i in range(3)]
    r.rpush(f"resque:delayed:{t}", *first)
    r.zadd("resque:delayed_queue_schedule", {str(t): t})
    mover = Mover(c)
    real, calls = mover.store.move_batch, []

    def racing(member, batch):  # type: ignore[no-untyped-def]
        if not calls:  # another client swaps the head item for one of the same length
            r.lset(f"resque:delayed:{t}", 0, item_bytes("Py::Plain", [7], "pyq"))
        calls.append(len(batch))
        return real(member, batch)

    monkeypatch.setattr(mover.store, "move_batch", racing)
    assert mover.handle_delayed_items() == 3
    assert calls == [3, 3]
    assert [loads(x)["args"][0] for x in r.lrange("resque:queue:pyq", 0, -1)] == [7, 1, 2]


def test_a_batch_over_many_queues_keeps_each_queues_order(c, r):  # type: ignore[no-untyped-def]
    t = int(time.time()) - 5
    items = [item_bytes("Py::Plain", [i], f"q{i % 7}") for i in range(250)]
    r.rpush(f"resque:delayed:{t}", *items)
    r.zadd("resque:delayed_queue_schedule", {str(t): t})
    assert handle_delayed_items(c, batch_size=100) == 250
    for q in range(7):
        assert [loads(x)["args"][0] for x in r.lrange(f"resque:queue:q{q}", 0, -1)] == list(range(q, 250, 7))


def test_a_huge_batch_size_is_capped(c):  # type: ignore[no-untyped-def]
    assert Mover(c, batch_size=10**9).batch_size == MAX_BATCH
    assert Mover(c, batch_size=0).batch_size == 1
