"""The scheduler loop: master lock, recurring firings, dynamic schedules (checklist 15-25)."""
from __future__ import annotations

import re
import time

import pytest

from resque import Registry, Resque
from resque._compat import loads
from resque.scheduler import Scheduler, SchedulerOptions
from resque.scheduler.errors import ScheduleError
from resque.scheduler.lock import lock_value
from resque.scheduler.schedule import parse_schedule
from tests import scheduler_jobs as jobs
from tests.scheduler_jobs import c  # noqa: F401 - fixture
from tests.monitor import Monitor

LOCK = "resque:resque:resque_scheduler_master_lock"
EVERY_SECOND = {"tick": {"cron": "* * * * * *", "class": "SomeJob", "args": [1]}}


def make(c: Resque, table=None, **kw) -> Scheduler:  # type: ignore[no-untyped-def]
    return Scheduler(c, SchedulerOptions(static=parse_schedule(table or {}), **kw))


def test_lock_key_repeats_the_namespace_value_is_host_pid_ttl_180(c, r):  # type: ignore[no-untyped-def]
    s = make(c)
    s.step()
    assert s.master is True
    assert r.get(LOCK).decode() == lock_value() and re.fullmatch(r".+:\d+", lock_value())
    assert 175 <= r.ttl(LOCK) <= 180
    prefixed = Scheduler(Resque(r, "myapp", registry=Registry()), SchedulerOptions(lock_prefix="MyApp:"))
    assert prefixed.lock.key == "myapp:myapp:MyApp::resque_scheduler_master_lock"


def test_a_lock_held_by_ruby_keeps_this_process_a_child(c, r):  # type: ignore[no-untyped-def]
    r.set(LOCK, "localhost:1654", ex=180)
    due = int(time.time()) - 5
    c.enqueue_at_with_queue("q", due + 1000, "SomeJob", 1)  # future now; moved only by a master
    r.zadd("resque:delayed_queue_schedule", {str(due): due})
    r.rpush(f"resque:delayed:{due}", b'{"class":"SomeJob","args":[2],"queue":"smoke_q"}')
    s = make(c, EVERY_SECOND)
    s.step(time.time() + 5)
    assert s.master is False and r.get(LOCK) == b"localhost:1654"
    assert not r.exists("resque:queue:smoke_q")
    s.shutdown()
    assert r.get(LOCK) == b"localhost:1654"  # a non-holder never deletes it
    r.delete(LOCK)  # Ruby's master went away
    s.step()
    assert s.master is True and r.llen("resque:queue:smoke_q") == 1


def test_holder_extends_the_ttl_each_iteration_and_releases_on_shutdown(c, r):  # type: ignore[no-untyped-def]
    s = make(c, lock_timeout=60)
    s.step()
    r.expire(LOCK, 5)
    s.step()
    assert r.ttl(LOCK) > 50
    s.shutdown()
    assert not r.exists(LOCK)


def test_lock_scripts_send_setnx_expire_then_get_expire(c, r, redis_server):  # type: ignore[no-untyped-def]
    s = make(c)
    s.lock.hold()
    with Monitor(str(redis_server.socket)) as mon:
        s.lock.hold()
    value = lock_value().encode()
    assert [w for w in mon.words(lua=True)] == [
        [b"SETNX", LOCK.encode(), value], [b"GET", LOCK.encode()], [b"EXPIRE", LOCK.encode(), b"180"]]


def test_master_fires_due_entries_and_records_last_enqueued_at(c, r):  # type: ignore[no-untyped-def]
    s = make(c, {"nightly": {"cron": "30 2 * * *", "class": "SomeJob", "args": {"x": 1}, "queue": "smoke_q"}})
    now = time.time()
    s.step(now)
    timer = s.timers["nightly"]
    s.step(timer.next_at + 0.2)
    assert r.lrange("resque:queue:smoke_q", 0, -1) == [b'{"class":"SomeJob","args":[{"x":1}]}']
    stamp = r.hget("resque:delayed:last_enqueued_at", "nightly").decode()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}", stamp)
    s.step(timer.next_at - 10)  # not due again
    assert r.llen("resque:queue:smoke_q") == 1


def test_an_occurrence_fires_once_even_with_two_masters(c, r):  # type: ignore[no-untyped-def]
    a, b = make(c, EVERY_SECOND), make(c, EVERY_SECOND)
    b.lock.value = "other-host:99"
    now = float(int(time.time()))
    a.step(now)
    b.step(now)
    assert a.master and not b.master
    slot = a.timers["tick"].next_at
    assert a.firer.fire(a.timers["tick"].entry, slot, 0.5) == 1
    b.master = True  # split brain: b wrongly believes it is master
    assert b.firer.fire(b.timers["tick"].entry, slot, 0.5) == -1  # fenced by the lock
    r.set(LOCK, b.lock.value)  # the lock passes to b
    assert b.firer.fire(b.timers["tick"].entry, slot, 0.5) == 0  # already fired
    assert b.firer.fire(b.timers["tick"].entry, slot + 1, 0.5) == 1
    assert r.llen("resque:queue:smoke_q") == 2
    assert float(r.hget("resque:scheduler:fired", "tick")) == slot + 1


def test_missed_occurrences_are_not_replayed_after_a_takeover(c, r):  # type: ignore[no-untyped-def]
    s = make(c, EVERY_SECOND)
    now = float(int(time.time()))
    s.step(now)
    s.step(now + 30.5)  # 30 occurrences missed: one firing for the latest
    assert r.llen("resque:queue:smoke_q") == 1
    assert float(r.hget("resque:scheduler:fired", "tick")) == now + 30


def test_env_restricts_entries(c, r):  # type: ignore[no-untyped-def]
    table = {"prod": {"cron": "* * * * * *", "class": "SomeJob", "rails_env": "production"},
             "any": {"cron": "* * * * * *", "class": "SomeJob"}}
    assert set(make(c, table).table()) == {"prod", "any"}
    s = make(c, table, env="staging")
    s.step()
    assert set(s.timers) == {"any"}
    s = make(c, table, env="production")
    s.step()
    assert set(s.timers) == {"prod", "any"}


def test_set_and_remove_schedule_send_ruby_commands(c, r, redis_server):  # type: ignore[no-untyped-def]
    with Monitor(str(redis_server.socket)) as mon:
        c.set_schedule("every_minute", {"class": "SomeJob", "every": ["1m", {"first_in": "10s"}],
                                        "queue": "smoke_q", "args": [1, "a"], "description": "d",
                                        "persist": True})
        c.remove_schedule("gone")
    sent = [w for w in mon.words() if w[0] in (b"HSET", b"SADD", b"HDEL")]
    assert sent == [
        [b"HSET", b"resque:persistent_schedules", b"every_minute",
         b'{"class":"SomeJob","every":["1m",{"first_in":"10s"}],"queue":"smoke_q","args":[1,"a"],"description":"d"}'],
        [b"SADD", b"resque:schedules_changed", b"every_minute"],
        [b"HDEL", b"resque:persistent_schedules", b"gone"],
        [b"SADD", b"resque:schedules_changed", b"gone"]]
    assert c.fetch_schedule("every_minute")["every"] == ["1m", {"first_in": "10s"}]
    with pytest.raises(ScheduleError):
        c.set_schedule("bad", {"cron": "not a cron", "class": "SomeJob"})


def test_dynamic_master_clears_changes_on_load_then_pops_them(c, r):  # type: ignore[no-untyped-def]
    c.set_schedule("a", {"cron": "* * * * * *", "class": "SomeJob"})
    s = make(c, dynamic=True)
    s.step()
    assert set(s.timers) == {"a"} and not r.exists("resque:schedules_changed")
    c.set_schedule("b", {"every": "5s", "class": "SomeJob"})
    c.remove_schedule("a")
    s.step()
    assert set(s.timers) == {"b"} and not r.exists("resque:schedules_changed")
    r.hset("resque:persistent_schedules", "broken", b'{"cron":"nope","class":"X"}')
    r.sadd("resque:schedules_changed", "broken")
    s.step()  # a bad stored entry is skipped, not fatal
    assert set(s.timers) == {"b"}


def test_static_entries_stay_when_a_dynamic_one_of_that_name_goes(c, r):  # type: ignore[no-untyped-def]
    s = make(c, {"x": {"every": "1h", "class": "SomeJob"}}, dynamic=True)
    s.step()
    c.set_schedule("x", {"every": "5m", "class": "SomeJob"})
    s.step()
    assert s.timers["x"].entry.value == "5m"
    c.remove_schedule("x")
    s.step()
    assert s.timers["x"].entry.value == "1h"


def test_gaining_the_lock_reloads_the_schedule(c, r):  # type: ignore[no-untyped-def]
    r.set(LOCK, "ruby:1", ex=180)
    s = make(c, dynamic=True)
    s.step()
    assert s.master is False
    c.set_schedule("late", {"every": "1m", "class": "SomeJob"})
    r.delete(LOCK)
    s.step()
    assert s.master is True and "late" in s.timers


def test_heartbeat_says_who_is_alive_and_master(c, r):  # type: ignore[no-untyped-def]
    s = make(c)
    s.step()
    beat = loads(r.hget("resque:scheduler:heartbeats", s.id))
    assert beat["master"] is True and beat["pid"] > 0
    s.shutdown()
    assert not r.hexists("resque:scheduler:heartbeats", s.id)


def test_a_hook_that_vetoes_still_records_the_firing(c, r):  # type: ignore[no-untyped-def]
    s = make(c, {"h": {"cron": "* * * * * *", "class": "HookJob", "args": ["veto"]}})
    now = float(int(time.time()))
    s.step(now)
    s.step(now + 1.1)
    assert not r.exists("resque:queue:hooks")
    assert r.hexists("resque:delayed:last_enqueued_at", "h")


def test_entries_for_unknown_classes_need_a_queue(c, r):  # type: ignore[no-untyped-def]
    s = make(c, {"py": {"cron": "* * * * * *", "class": "Py::Only", "queue": "pyq", "args": [3]},
                 "lost": {"cron": "* * * * * *", "class": "Py::NoQueue"}})
    now = float(int(time.time()))
    s.step(now)
    s.step(now + 1.1)
    assert r.lrange("resque:queue:pyq", 0, -1) == [b'{"class":"Py::Only","args":[3]}']
    assert r.smembers("resque:queues") == {b"pyq"}


def test_a_redis_refusal_is_logged_and_the_loop_goes_on(c, r, caplog) -> None:  # type: ignore[no-untyped-def]
    due = int(time.time()) - 5
    r.rpush(f"resque:delayed:{due}", b'{"class":"SomeJob","args":[1],"queue":"smoke_q"}')
    r.zadd("resque:delayed_queue_schedule", {str(due): due})
    r.set("resque:queue:smoke_q", "not a list")  # the push will fail with WRONGTYPE
    s = make(c)
    assert s.step() == s.options.interval
    assert "Redis refused a command" in caplog.text
    assert r.llen(f"resque:delayed:{due}") == 1  # nothing moved, nothing lost
    r.delete("resque:queue:smoke_q")
    s.step()
    assert r.llen("resque:queue:smoke_q") == 1
