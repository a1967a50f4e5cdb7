"""The delayed queue's producer side, byte for byte as resque-scheduler 5 (checklist 1-7, 13, 14)."""
from __future__ import annotations

import functools
import time
from datetime import datetime, timedelta, timezone

import pytest

import resque
from resque import NoQueueError, Registry, Resque
from resque.registry import JobSpec
from resque.scheduler import delayed as d
from tests import scheduler_jobs as jobs
from tests.scheduler_jobs import c  # noqa: F401 - fixture
from tests.monitor import Monitor

ITEM = b'{"class":"SomeJob","args":[1],"queue":"smoke_q"}'


def test_enqueue_in_sends_rpush_sadd_zadd_with_ruby_bytes(c, r, redis_server):  # type: ignore[no-untyped-def]
    before = time.time()
    with Monitor(str(redis_server.socket)) as mon:
        c.enqueue_in(5, jobs.SomeJob, 1)
    after = time.time()
    sent = [w for w in mon.words() if w[0] in (b"RPUSH", b"SADD", b"ZADD")]
    ts = int(sent[0][1].rsplit(b":", 1)[1])
    assert int(before + 5) <= ts <= int(after + 5)
    assert sent == [
        [b"RPUSH", f"resque:delayed:{ts}".encode(), ITEM],
        [b"SADD", b"resque:timestamps:" + ITEM, f"delayed:{ts}".encode()],
        [b"ZADD", b"resque:delayed_queue_schedule", str(ts).encode(), str(ts).encode()],
    ]
    assert r.zrange("resque:delayed_queue_schedule", 0, -1, withscores=True) == [(str(ts).encode(), float(ts))]


def test_fractional_times_truncate_to_whole_seconds(c, r):  # type: ignore[no-untyped-def]
    t = int(time.time()) + 100
    c.enqueue_at(t + 0.9, jobs.SomeJob, 1)
    c.enqueue_at(datetime.fromtimestamp(t + 0.5, timezone.utc), jobs.SomeJob, 2)
    c.enqueue_at(datetime.fromtimestamp(t + 0.5, timezone.utc).replace(tzinfo=None), jobs.SomeJob, 3)
    assert r.zrange("resque:delayed_queue_schedule", 0, -1) == [str(t).encode()]
    assert r.llen(f"resque:delayed:{t}") == 3
    assert b"." not in b"".join(r.keys())


def test_item_members_are_class_args_queue_and_null_queue_is_written(c, r):  # type: ignore[no-untyped-def]
    t = int(time.time()) + 100
    c.enqueue_at_with_queue(None, t, "Py::Job", {"b": 1.5, "a": "é"})
    assert r.lrange(f"resque:delayed:{t}", 0, -1) == [
        '{"class":"Py::Job","args":[{"b":1.5,"a":"é"}],"queue":null}'.encode()]


def test_past_time_enqueues_now_and_writes_no_delayed_keys(c, r):  # type: ignore[no-untyped-def]
    assert c.enqueue_at(int(time.time()), jobs.SomeJob, 1) is True
    c.enqueue_in(-10, jobs.SomeJob, 2)
    assert r.lrange("resque:queue:smoke_q", 0, -1) == [
        b'{"class":"SomeJob","args":[1]}', b'{"class":"SomeJob","args":[2]}']
    assert not [k for k in r.keys() if b"delayed" in k or b"timestamps" in k]


def test_same_item_twice_in_one_second_is_two_elements_one_set_member(c, r):  # type: ignore[no-untyped-def]
    t = int(time.time()) + 100
    c.enqueue_at(t, jobs.SomeJob, 1)
    c.enqueue_at(t, jobs.SomeJob, 1)
    c.enqueue_at(t + 1, jobs.SomeJob, 1)
    assert r.llen(f"resque:delayed:{t}") == 2
    assert r.smembers(b"resque:timestamps:" + ITEM) == {f"delayed:{t}".encode(), f"delayed:{t + 1}".encode()}
    assert c.scheduled_at(jobs.SomeJob, 1) == [t, t + 1]
    assert c.is_delayed(jobs.SomeJob, 1) and not c.is_delayed(jobs.SomeJob, 2)


def test_remove_delayed_sends_smembers_lrem_srem_and_keeps_schedule_member(c, r, redis_server):  # type: ignore[no-untyped-def]
    t = int(time.time()) + 100
    c.enqueue_at(t, jobs.SomeJob, 1)
    c.enqueue_at(t, jobs.SomeJob, 1)
    c.enqueue_at(t, jobs.SomeJob, 2)
    with Monitor(str(redis_server.socket)) as mon:
        assert c.remove_delayed(jobs.SomeJob, 1) == 2
    sent = [w for w in mon.words() if w[0] in (b"SMEMBERS", b"LREM", b"SREM")]
    assert sent == [[b"SMEMBERS", b"resque:timestamps:" + ITEM],
                    [b"LREM", f"resque:delayed:{t}".encode(), b"0", ITEM],
                    [b"SREM", b"resque:timestamps:" + ITEM, f"delayed:{t}".encode()]]
    assert r.zrange("resque:delayed_queue_schedule", 0, -1) == [str(t).encode()]
    assert r.llen(f"resque:delayed:{t}") == 1


def test_remove_from_one_second_cleans_an_emptied_second(c, r):  # type: ignore[no-untyped-def]
    t = int(time.time()) + 100
    c.enqueue_at(t, jobs.SomeJob, 1)
    c.enqueue_at(t + 5, jobs.SomeJob, 1)
    assert c.remove_delayed_job_from_timestamp(t, jobs.SomeJob, 1) == 1
    assert r.zrange("resque:delayed_queue_schedule", 0, -1) == [str(t + 5).encode()]
    assert not r.exists(f"resque:delayed:{t}")
    assert c.scheduled_at(jobs.SomeJob, 1) == [t + 5]


def test_enqueue_at_validates_the_queue_as_ruby(c):  # type: ignore[no-untyped-def]
    with pytest.raises(NoQueueError):
        c.enqueue_in(60, jobs.NoQueueJob, 1)
    with pytest.raises(TypeError, match="numeric number of seconds"):
        c.enqueue_in("soon", jobs.SomeJob)


def test_timedelta_and_with_queue_variants(c, r):  # type: ignore[no-untyped-def]
    c.enqueue_in(timedelta(minutes=1), jobs.SomeJob, 1)
    c.enqueue_in_with_queue("other", 60, jobs.SomeJob, 2)
    items = [i for ts in c.delayed_queue_peek(0, 10) for i in c.delayed_timestamp_peek(ts, 0, 0)]
    assert {"class": "SomeJob", "args": [1], "queue": "smoke_q"} in items
    assert {"class": "SomeJob", "args": [2], "queue": "other"} in items
    assert c.count_all_scheduled_jobs() == 2


def test_hooks_run_in_ruby_order_and_before_schedule_false_stores_nothing(c, r):  # type: ignore[no-untyped-def]
    c.enqueue_in(60, jobs.HookJob, 1)
    assert [n for n, _ in jobs.CALLS] == ["before_schedule", "before_schedule_zz", "after_schedule"]
    jobs.CALLS.clear()
    c.enqueue_at(time.time() - 5, jobs.HookJob, 2)
    assert [n for n, _ in jobs.CALLS] == ["before_schedule", "before_schedule_zz", "before_enqueue",
                                          "after_enqueue", "after_schedule"]
    jobs.CALLS.clear()
    assert c.enqueue_in(60, jobs.HookJob, "veto") is None
    assert c.count_all_scheduled_jobs() == 1
    assert [n for n, _ in jobs.CALLS] == ["before_schedule", "before_schedule_zz"]


def test_plugin_hooks_added_with_add_hook_run_too(c):  # type: ignore[no-untyped-def]
    seen = []
    spec = c.registry.spec_for(jobs.SomeJob)
    spec.add_hook("before_schedule", lambda *a: seen.append(a))
    spec.add_hook("after_schedule", lambda *a: seen.append(("after",) + a))
    c.enqueue_in(60, jobs.SomeJob, 7)
    assert seen == [(7,), ("after", 7)]


def test_inline_mode_performs_now_and_removals_return_zero(r):  # type: ignore[no-untyped-def]
    client = Resque(r, registry=Registry(), inline=True)
    jobs.register(client.registry)
    client.enqueue_in(60, jobs.SomeJob, 5)
    assert ("perform", (5,)) in jobs.CALLS
    assert not r.keys() and client.remove_delayed(jobs.SomeJob, 5) == 0


def test_find_remove_and_enqueue_selection_by_class_and_args(c, r):  # type: ignore[no-untyped-def]
    t = int(time.time()) + 100
    for i in range(5):
        c.enqueue_at(t + i, jobs.SomeJob, i)
    c.enqueue_at_with_queue("q2", t, "Other", 1)
    found = c.find_delayed_selection(jobs.SomeJob, lambda args: args[0] % 2 == 0)
    assert sorted(found) == sorted(d.item_bytes("SomeJob", [i], "smoke_q") for i in (0, 2, 4))
    assert c.remove_delayed_selection(jobs.SomeJob, lambda args: args[0] == 0) == 1
    assert c.enqueue_delayed_selection("Other") == 1
    assert r.lrange("resque:queue:q2", 0, -1) == [b'{"class":"Other","args":[1]}']
    assert c.enqueue_delayed(jobs.SomeJob, 3) == 1
    assert c.count_all_scheduled_jobs() == 3
    assert len(c.find_delayed_selection()) == 3


def test_next_delayed_timestamp_and_peeks(c):  # type: ignore[no-untyped-def]
    t = int(time.time()) + 100
    c.enqueue_at(t, jobs.SomeJob, 1)
    c.enqueue_at(t + 10, jobs.SomeJob, 2)
    assert c.next_delayed_timestamp() is None
    assert c.next_delayed_timestamp(t + 5) == t
    assert c.delayed_queue_schedule_size() == 2
    assert c.delayed_queue_peek(1, 1) == [t + 10]
    assert c.delayed_timestamp_size(t) == 1
    assert c.delayed_timestamp_peek(t + 10, 0, 1) == [{"class": "SomeJob", "args": [2], "queue": "smoke_q"}]


def test_reset_deletes_buckets_timestamps_sets_and_schedule(c, r):  # type: ignore[no-untyped-def]
    t = int(time.time()) + 100
    for i in range(250):
        c.enqueue_at(t + i, jobs.SomeJob, i)
    r.hset("resque:delayed:last_enqueued_at", "nightly", "x")
    assert c.reset_delayed_queue() == 250
    assert sorted(r.keys()) == [b"resque:delayed:last_enqueued_at"]


def test_delay_or_enqueue_at_moves_existing_copies(c):  # type: ignore[no-untyped-def]
    t = int(time.time()) + 100
    c.enqueue_at(t, jobs.SomeJob, 1)
    c.enqueue_at(t + 1, jobs.SomeJob, 1)
    c.delay_or_enqueue_at(t + 50, jobs.SomeJob, 1)
    assert c.scheduled_at(jobs.SomeJob, 1) == [t + 50]
    assert c.delayed_timestamp_size(t + 50) == 2


def test_module_functions_and_job_methods_use_the_default_client(r):  # type: ignore[no-untyped-def]
    registry = Registry()
    client = Resque(r, registry=registry)
    resque.set_client(client)
    try:
        @resque.job(queue="mail", name="SendReport", registry=registry)
        def send_report(user: int) -> None:
            pass

        before = int(time.time()) + 60
        send_report.enqueue_in(60, 42)  # type: ignore[attr-defined]
        resque.enqueue_in(60, "SendReport", 43)
        [at] = send_report.scheduled_at(42)  # type: ignore[attr-defined]
        assert before <= at <= int(time.time()) + 60
        assert len(resque.find_delayed_selection("SendReport")) == 2
        assert resque.count_all_scheduled_jobs() == 2
        assert send_report.remove_delayed(42) == 1  # type: ignore[attr-defined]
        assert resque.remove_delayed("SendReport", 43) == 1
    finally:
        resque.set_client(None)


class _Carrier:
    """A framework task's shape: the object enqueued is not the callable its spec runs."""

    __resque_job__ = JobSpec("Carrier::Job", functools.partial(print), "carried")


def test_a_job_object_carrying_its_spec_is_enqueued_at_once_for_a_past_time(c, r):  # type: ignore[no-untyped-def]
    assert c.enqueue_in(-1, _Carrier(), 1) is True
    assert c.enqueue_at_with_queue("elsewhere", 0, _Carrier(), 2) is True
    assert r.lrange("resque:queue:carried", 0, -1) == [b'{"class":"Carrier::Job","args":[1]}']
    assert r.lrange("resque:queue:elsewhere", 0, -1) == [b'{"class":"Carrier::Job","args":[2]}']


def test_push_is_the_raw_api_other_plugins_use(c, r):  # type: ignore[no-untyped-def]
    t = int(time.time()) + 30
    assert d.push(c, t + 0.7, "retry_q", "Billing::Charge", [1, "two"]) == t
    assert r.lrange(f"resque:delayed:{t}", 0, -1) == [
        b'{"class":"Billing::Charge","args":[1,"two"],"queue":"retry_q"}']


def test_import_resque_loads_no_yaml_cron_parser_or_scheduler_process() -> None:
    import subprocess
    import sys
    heavy = ("yaml", "croniter", "resque.scheduler.runner", "resque.scheduler.mover")
    code = f"import resque, sys; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
