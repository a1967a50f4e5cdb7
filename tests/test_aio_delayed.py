"""Delayed jobs from the asyncio client: the sync scheduler API's bytes, hooks and rules."""
from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

import resque.aio
from resque import Registry, Resque
from resque.scheduler import handle_delayed_items, push_delayed
from tests import scheduler_jobs as jobs
from tests.monitor import Monitor
from tests.test_aio import run

_HANDSHAKE = {b"PING", b"HELLO", b"CLIENT", b"SELECT", b"AUTH"}
Y2099 = 4070908800  # 2099-01-01T00:00:00Z
ITEM = b'{"class":"HookJob","args":[1],"queue":"hooks"}'


class Custom:
    """A job whose ``scheduled`` class method replaces the enqueue now, as in Ruby."""

    queue = "custom"
    seen: list[tuple[Any, ...]] = []

    @staticmethod
    def perform(*args: Any) -> None:
        pass

    @classmethod
    def scheduled(cls, queue: str, name: str, *args: Any) -> None:
        cls.seen.append((queue, name, args, threading.get_ident()))


@pytest.fixture
def registry() -> Registry:
    reg = Registry()
    jobs.register(reg)
    reg.register(Custom, name="Custom")
    Custom.seen = []
    return reg


async def _delayed_calls(c: Any) -> list[Any]:
    """One of each delayed call; works on both clients (awaits when needed)."""
    async def call(value: Any) -> Any:
        return await value if asyncio.iscoroutine(value) else value
    return [
        await call(c.enqueue_at(datetime(2099, 1, 1, tzinfo=timezone.utc), jobs.HookJob, 1)),
        await call(c.enqueue_at(datetime(2099, 1, 1, 0, 0, 1), jobs.HookJob, {"n": 1.5, "s": "é"})),
        await call(c.enqueue_at_with_queue("billing", Y2099 + 5.9, "Billing::Charge", 1001, "eur")),
        await call(c.enqueue_at_with_queue(None, Y2099 + 5, "Py::Job", [1, 2])),
        await call(c.enqueue_at(Y2099, jobs.HookJob, "veto")),
        await call(c.enqueue_in(-5, jobs.HookJob, 2)),
        await call(c.enqueue_in_with_queue("urgent", timedelta(seconds=-1), jobs.SomeJob, 3)),
        await call(c.enqueue_at(0, "SomeJob", 4)),
        await call(c.delayed_queue_schedule_size()),
        await call(c.next_delayed_timestamp(Y2099 - 1)),
        await call(c.next_delayed_timestamp(datetime(2099, 1, 1, 0, 0, 10))),
        await call(c.remove_delayed(jobs.HookJob, 1)),
        await call(c.remove_delayed(jobs.HookJob, {"n": 1.5, "s": "é"})),
        await call(c.remove_delayed(jobs.HookJob, "never delayed")),
        await call(c.delayed_queue_schedule_size()),
    ]


def _wire(mon: Monitor) -> list[list[bytes]]:
    return [w for w in mon.words() if w[0] not in _HANDSHAKE]


def test_delayed_calls_send_the_same_commands_as_the_sync_scheduler_api(redis_server, redis_url, r,
                                                                        registry):
    with Monitor(str(redis_server.socket)) as sync_wire:
        sync_results = asyncio.run(_delayed_calls(Resque(redis_url, registry=registry)))
    sync_state = {k: r.type(k) for k in r.keys()}
    sync_calls, jobs.CALLS[:] = list(jobs.CALLS), []
    r.flushall()
    with Monitor(str(redis_server.socket)) as async_wire:
        async_results = run(_delayed_calls, redis_url, registry=registry)
    assert _wire(async_wire) == _wire(sync_wire)
    assert async_results == sync_results == [
        True, True, True, True, None, True, True, True, 3, None, Y2099, 1, 1, 0, 3]
    assert jobs.CALLS == sync_calls
    assert {k: r.type(k) for k in r.keys()} == sync_state
    names = [w[0] for w in _wire(async_wire)]
    assert names[:5] == [b"MULTI", b"RPUSH", b"SADD", b"ZADD", b"EXEC"]
    assert _wire(async_wire)[1:4] == [
        [b"RPUSH", f"resque:delayed:{Y2099}".encode(), ITEM],
        [b"SADD", b"resque:timestamps:" + ITEM, f"delayed:{Y2099}".encode()],
        [b"ZADD", b"resque:delayed_queue_schedule", str(Y2099).encode(), str(Y2099).encode()]]


def test_past_times_enqueue_at_once_with_the_enqueue_hooks(redis_url, r, registry):
    async def main(c: resque.aio.Resque) -> list[Any]:
        return [await c.enqueue_in(-5, jobs.HookJob, 2), await c.enqueue_at(time.time(), jobs.HookJob, 3),
                await c.delayed_queue_schedule_size()]
    assert run(main, redis_url, registry=registry) == [True, True, 0]
    assert r.lrange("resque:queue:hooks", 0, -1) == [
        b'{"class":"HookJob","args":[2]}', b'{"class":"HookJob","args":[3]}']
    assert [name for name, _ in jobs.CALLS] == [
        "before_schedule", "before_schedule_zz", "before_enqueue", "after_enqueue", "after_schedule"] * 2
    assert not [k for k in r.keys() if b"delayed" in k or b"timestamps" in k]


def test_next_delayed_timestamp_defaults_to_now(redis_url, r, registry):
    async def main(c: resque.aio.Resque) -> list[int | None]:
        first = await c.next_delayed_timestamp()
        push_delayed(Resque(redis_url, registry=registry), 1000, "smoke_q", "SomeJob", [1])
        return [first, await c.next_delayed_timestamp(), await c.next_delayed_timestamp(999)]
    assert run(main, redis_url, registry=registry) == [None, 1000, None]


def test_enqueue_in_delays_from_now_to_the_whole_second(redis_url, r, registry):
    async def main(c: resque.aio.Resque) -> None:
        await c.enqueue_in(60, jobs.SomeJob, 1)
        await c.enqueue_in_with_queue("later", timedelta(minutes=2), jobs.SomeJob, 2)
    before = time.time()
    run(main, redis_url, registry=registry)
    after = time.time()
    seconds = [int(m) for m in r.zrange("resque:delayed_queue_schedule", 0, -1)]
    assert len(seconds) == 2
    assert int(before + 60) <= seconds[0] <= int(after + 60)
    assert int(before + 120) <= seconds[1] <= int(after + 120)
    assert r.lrange(f"resque:delayed:{seconds[0]}", 0, -1) == [b'{"class":"SomeJob","args":[1],"queue":"smoke_q"}']
    assert r.lrange(f"resque:delayed:{seconds[1]}", 0, -1) == [b'{"class":"SomeJob","args":[2],"queue":"later"}']


def test_a_job_delayed_from_asyncio_is_moved_by_the_scheduler_with_every_hook(redis_url, r, registry):
    async def main(c: resque.aio.Resque) -> bool | None:
        return await c.enqueue_at(Y2099, jobs.HookJob, 1)
    assert run(main, redis_url, registry=registry) is True
    assert handle_delayed_items(Resque(redis_url, registry=registry), at=Y2099 - 1) == 0
    assert handle_delayed_items(Resque(redis_url, registry=registry), at=Y2099) == 1
    assert r.lrange("resque:queue:hooks", 0, -1) == [b'{"class":"HookJob","args":[1]}']
    assert [name for name, _ in jobs.CALLS] == [
        "before_schedule", "before_schedule_zz", "after_schedule",  # delayed from asyncio
        "before_schedule", "before_schedule_zz", "before_delayed_enqueue",  # moved when due
        "before_enqueue", "after_enqueue", "after_schedule"]


def test_a_scheduled_class_method_replaces_the_enqueue_now_and_runs_off_the_loop(redis_url, r,
                                                                               registry):
    async def main(c: resque.aio.Resque) -> tuple[bool | None, int]:
        return await c.enqueue_in(-1, Custom, "x", 2), threading.get_ident()
    done, loop_thread = run(main, redis_url, registry=registry)
    assert done is True
    assert [seen[:3] for seen in Custom.seen] == [("custom", "Custom", ("x", 2))]
    assert Custom.seen[0][3] != loop_thread
    assert r.keys() == []


def test_before_schedule_false_stores_nothing(redis_url, r, registry):
    async def main(c: resque.aio.Resque) -> bool | None:
        return await c.enqueue_in(60, jobs.HookJob, "veto")
    assert run(main, redis_url, registry=registry) is None
    assert r.keys() == []
    assert [name for name, _ in jobs.CALLS] == ["before_schedule", "before_schedule_zz"]


def test_an_unknown_queue_is_refused_before_anything_is_written(redis_url, r, registry):
    async def main(c: resque.aio.Resque) -> None:
        await c.enqueue_in(60, jobs.NoQueueJob, 1)
    with pytest.raises(resque.NoQueueError):
        run(main, redis_url, registry=registry)
    assert r.keys() == []


def test_an_inline_client_runs_delayed_jobs_now_without_redis(registry):
    async def main() -> list[Any]:
        c = resque.aio.Resque(inline=True, registry=registry)
        return [await c.enqueue_in(3600, jobs.SomeJob, 7), await c.remove_delayed(jobs.SomeJob, 7)]
    jobs.CALLS.clear()
    assert asyncio.run(main()) == [True, 0]
    assert jobs.CALLS == [("perform", (7,))]


def test_import_resque_aio_loads_no_delayed_module_until_one_is_used():
    code = ("import sys, resque.aio\n"
            "print(sorted(m for m in sys.modules if m.startswith('resque.aio.delayed')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
