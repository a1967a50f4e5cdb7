"""Two real schedulers, the master killed with -9 and Redis restarted while items come due.

``RESQUE_CHAOS_DELAYED`` scales the number of delayed items (default 10,000).
"""
from __future__ import annotations

import os
import re
import time
from collections import Counter

from resque import Registry, Resque
from resque._compat import loads
from resque.scheduler.delayed import item_bytes, store_of
from resque.scheduler.lock import host_name
from tests.helpers import RedisServer, wait_for
from tests.scheduler_process import SchedulerProcess

LOCK = "resque:resque:resque_scheduler_master_lock"
TTL = 2
FIRED = re.compile(r"queueing Chaos::Tick \(tick\) for (\d+)")


def test_kill_9_and_redis_restart_lose_and_duplicate_nothing(tmp_path):  # type: ignore[no-untyped-def]
    n = int(os.environ.get("RESQUE_CHAOS_DELAYED", "10000"))
    server = RedisServer(aof=True).start()
    try:
        r = server.raw()
        client = Resque(server.url, registry=Registry())
        start = int(time.time()) + 3
        entries = [(start + i % 10, item_bytes("Chaos::Item", [i], "chaos_q")) for i in range(n)]
        for k in range(0, n, 2000):
            store_of(client).delayed_push_many(entries[k:k + 2000])
        schedule = tmp_path / "schedule.yml"
        schedule.write_text("tick:\n  cron: '* * * * * *'\n  class: Chaos::Tick\n  queue: ticks\n")
        args = ("--schedule", str(schedule), "--interval", "0.2", "--lock-timeout", str(TTL),
                "--batch-size", "100")
        procs = [SchedulerProcess(server.url, tmp_path / f"s{i}.log", *args) for i in range(2)]
        try:
            holder = wait_for(lambda: r.get(LOCK), 20).decode()
            master = next(p for p in procs if holder == f"{host_name()}:{p.pid}")
            standby = next(p for p in procs if p is not master)
            wait_for(lambda: r.llen("resque:queue:chaos_q") > 0, 20)  # items are coming due
            master.kill9()
            killed = time.time()
            server.restart(down=0.5)
            wait_for(lambda: r.get(LOCK) == f"{host_name()}:{standby.pid}".encode(), 30)
            wait_for(lambda: r.llen("resque:queue:chaos_q") >= n and not r.exists(
                "resque:delayed_queue_schedule"), 40)
            taken_over = time.time()
            wait_for(lambda: max(_slots(standby), default=0) >= taken_over + 2, 20)
        finally:
            for p in procs:
                p.stop()
        moved = Counter(loads(x)["args"][0] for x in r.lrange("resque:queue:chaos_q", 0, -1))
        assert len(moved) == n and set(moved.values()) == {1}  # every item exactly once
        assert not [k for k in r.keys() if k.startswith((b"resque:delayed:1", b"resque:timestamps:"))]
        slots = _slots(master) + _slots(standby)
        assert len(slots) == len(set(slots))  # no occurrence fired twice
        ticks = r.llen("resque:queue:ticks")
        assert ticks - len(slots) in (0, 1)  # the killed master may die before logging its last tick
        assert [s for s in _slots(standby) if s > killed + TTL + 1]  # ticks resume after the TTL
        assert not r.lrange("resque:failed", 0, -1)
    finally:
        server.cleanup()


def _slots(p: SchedulerProcess) -> list[int]:
    return [int(s) for s in FIRED.findall(p.log())]
