"""Faults one at a time: lost replies, Redis down or out of memory, hung jobs.

Each test that restarts or fills a Redis runs its own server
(``RedisServer``); the shared test server is never touched.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import redis

from resque import RedisUnavailable, Registry, Resque
from resque.errors import RedisOutOfMemory
from resque.worker import Worker, WorkerOptions
from tests.chaos_jobs import HUNG, SEEN
from tests.helpers import RedisServer, wait_for as _wait_for

ROOT = Path(__file__).resolve().parent.parent


def wait_for(predicate: Any, timeout: float = 15.0, step: float = 0.05) -> Any:
    return _wait_for(predicate, timeout, step)


def worker_env(url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ, RESQUE_REDIS_URL=url, PYTHONPATH=str(ROOT), **extra)
    for var in ("QUEUE", "QUEUES", "TERM_CHILD", "INTERVAL", "FORK_PER_JOB", "BACKGROUND", "PIDFILE"):
        if var not in extra:
            env.pop(var, None)
    return env


def start_worker(url: str, *args: str, **extra: str) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "resque", "work", "-A", "tests.chaos_jobs", "--interval", "0.1",
           "--heartbeat-interval", "1", *args]
    return subprocess.Popen(cmd, cwd=ROOT, env=worker_env(url, **extra),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def quit_worker(proc: subprocess.Popen[bytes], sig: int = signal.SIGQUIT) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
        raise


def failures(r: "redis.Redis[bytes]") -> list[dict[str, Any]]:
    return [json.loads(x) for x in r.lrange("resque:failed", 0, -1)]


@pytest.fixture
def server() -> Iterator[RedisServer]:
    s = RedisServer().start()
    yield s
    s.cleanup()


# -- a reply lost after the reserve script ran -----------------------------------


def lose_next_reply(w: Worker) -> None:
    """Let the next reserve call run in Redis, then fail as if its reply was lost."""
    real = w._cycle

    def lossy(*args: Any, **kwargs: Any) -> Any:
        w._cycle = real
        real(*args, **kwargs)
        raise redis.exceptions.ConnectionError("reply lost (injected)")

    w._cycle = lossy


def test_lost_reply_between_two_identical_jobs_loses_neither(client, impl):
    runs: list[str] = []
    client.registry.register(lambda tag: runs.append(tag), name="Same")
    for _ in range(2):
        client.push("q", {"class": "Same", "args": ["x"]})
    w = Worker(["q"], client, WorkerOptions(fork=False, interval=0))
    w._refresh_queues()
    assert impl.work_one(w)
    lose_next_reply(w)  # finishes the first and reserves the second, same second, same bytes
    w._backoff_delay = lambda: 0.0  # type: ignore[method-assign]
    assert not impl.work_one(w)
    while impl.work_one(w):
        pass
    assert runs == ["x", "x"]
    assert client.size("q") == 0 and client.store.stat("requeued") == 1


def test_lost_reply_reserving_an_undecodable_payload_fails_it(client, impl):
    client.registry.register(lambda: None, name="Good")
    client.push("q", {"class": "Good", "args": []})
    client.store.push("q", b"\xff\xfe not json")
    w = Worker(["q"], client, WorkerOptions(fork=False, interval=0))
    w._refresh_queues()
    assert impl.work_one(w)
    lose_next_reply(w)
    w._backoff_delay = lambda: 0.0  # type: ignore[method-assign]
    assert not impl.work_one(w)
    assert not impl.work_one(w)
    [record] = client.failure.all(0, 10)
    assert record.data["exception"] == "resque.errors.PayloadError"
    assert client.store.worker_job(w.id) is None and client.size("q") == 0


# -- Redis going away -------------------------------------------------------------


def enqueuer(url: str, first: int, count: int, pause: float) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.chaos_jobs", "enqueue", str(first), str(count), "chaos_a", "chaos_b"],
        cwd=ROOT, env=worker_env(url, CHAOS_ENQUEUE_PAUSE=str(pause)),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def settle_and_account(r: "redis.Redis[bytes]", count: int, reports: list[dict[str, Any]]) -> None:
    """Assert that every enqueued id ran or failed, and ran twice only with a cause."""
    def idle() -> bool:
        held = [k for k in r.scan_iter(match="resque:worker:*") if not k.endswith(b":started")]
        return r.llen("resque:queue:chaos_a") + r.llen("resque:queue:chaos_b") == 0 and not held

    wait_for(idle, 30)
    seen = {int(k): int(v) for k, v in r.hgetall(SEEN).items()}
    failed = {f["payload"]["args"][0] for f in failures(r)}
    assert set(range(count)) - set(seen) - failed == set()
    uncertain = {j for rep in reports for j in rep["uncertain"]}
    duplicates = sum(n - 1 for n in seen.values() if n > 1)
    assert duplicates <= int(r.get("resque:stat:requeued") or 0) + len(uncertain)


@pytest.mark.slow
@pytest.mark.parametrize("outage", ["restart", "freeze", "client-kill"])
def test_workers_and_enqueuers_ride_out_redis_outages(server, outage):
    """Redis restarted (down 6 s), frozen 4 s, or dropping every connection."""
    r = server.raw()
    workers = [start_worker(server.url, "-q", "chaos_a,chaos_b", "--fork"),
               start_worker(server.url, "-q", "chaos_b,chaos_a", "--no-fork")]
    try:
        wait_for(lambda: r.scard("resque:workers") == 2)
        count = 300
        producer = enqueuer(server.url, 0, count, pause=0.01)
        wait_for(lambda: r.hlen(SEEN) > 20)
        beats_before = r.hgetall("resque:workers:heartbeat")
        if outage == "restart":
            server.restart(down=6.0)
        elif outage == "freeze":
            server.pause(4.0)
        else:
            for _ in range(5):
                r.client_kill_filter(_type="normal", skipme=True)
                time.sleep(0.2)
        out, err = producer.communicate(timeout=120)
        assert producer.returncode == 0, err.decode()
        report = json.loads(out)
        settle_and_account(r, count, [report])
        # The heartbeat threads lived through it: every worker beats again.
        wait_for(lambda: all(r.hget("resque:workers:heartbeat", w) != b
                             for w, b in beats_before.items()), 10)
        assert [w.poll() for w in workers] == [None, None]
        if outage == "restart":
            assert report["errors"] + report["retries"] > 0  # the enqueuer did see Redis go
    finally:
        codes = [quit_worker(w) for w in workers]
    assert codes == [0, 0]


@pytest.fixture
def small_server() -> Iterator[RedisServer]:
    s = RedisServer("--maxmemory", "3mb", "--maxmemory-policy", "noeviction", aof=False).start()
    yield s
    s.cleanup()


def fill(r: "redis.Redis[bytes]") -> None:
    """Write filler until Redis refuses writes for lack of memory."""
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        for i in range(100_000):
            r.rpush("chaos:filler", b"x" * 1000)
    used = int(r.info("memory")["used_memory"])
    r.config_set("maxmemory", used - 256 * 1024)  # no margin left for a small write to slip in


def test_out_of_memory_enqueue_raises_a_clear_error_and_workers_survive(small_server):
    r = small_server.raw()
    client = Resque(small_server.url, registry=Registry())
    proc = start_worker(small_server.url, "-q", "chaos_a", "--no-fork")
    try:
        wait_for(lambda: r.scard("resque:workers") == 1)
        proc.send_signal(signal.SIGUSR2)  # paused: the job below waits in its queue
        time.sleep(0.3)
        client.enqueue_to("chaos_a", "Chaos::Mark", 1, "")
        fill(r)
        with pytest.raises(RedisOutOfMemory, match=r"cannot enqueue Chaos::Mark on queue 'chaos_a': "
                                                   r"Redis at .* is out of memory") as info:
            client.enqueue_to("chaos_a", "Chaos::Mark", 2, "")
        assert isinstance(info.value, RedisUnavailable)
        with pytest.raises(RedisOutOfMemory):
            client.enqueue_many("Chaos::Mark", [[3, ""]], queue="chaos_a")
        beat = r.hgetall("resque:workers:heartbeat")
        proc.send_signal(signal.SIGCONT)  # the job runs; its own write and its failure record hit OOM
        wait_for(lambda: r.llen("resque:queue:chaos_a") == 0)
        time.sleep(2.5)  # two heartbeats refused for lack of memory
        assert proc.poll() is None
        assert failures(r) == [] and r.hget(SEEN, "1") is None  # the record waits for memory
        r.delete("chaos:filler")
        [record] = wait_for(lambda: failures(r))  # written once memory is freed
        assert record["exception"] == "redis.exceptions.OutOfMemoryError", record
        assert record["payload"] == {"class": "Chaos::Mark", "args": [1, ""]}
        assert "command not allowed when used memory" in record["error"]
        assert r.hget(SEEN, "1") is None  # its own write was refused: it did not run through
        wait_for(lambda: r.hgetall("resque:workers:heartbeat") != beat)
        client.enqueue_to("chaos_a", "Chaos::Mark", 4, "")
        wait_for(lambda: r.hget(SEEN, "4") == b"1")
        assert proc.poll() is None
    finally:
        code = quit_worker(proc)
    assert code == 0


# -- a job that hangs ---------------------------------------------------------------


@pytest.mark.parametrize("how", ["usr1", "term-child", "term-child-no-fork"])
def test_hung_job_is_killed_and_the_worker_goes_on_or_stops(server, how):
    r = server.raw()
    client = Resque(server.url, registry=Registry())
    args = ["-q", "hang,chaos_a"] + (["--no-fork"] if how.endswith("no-fork") else [])
    extra = {"TERM_CHILD": "1", "RESQUE_TERM_TIMEOUT": "2"} if how.startswith("term") else {}
    proc = start_worker(server.url, *args, **extra)
    try:
        client.enqueue_to("hang", "Chaos::Hang", "h")
        client.enqueue_to("chaos_a", "Chaos::Mark", 7, "")
        wait_for(lambda: r.llen(HUNG) == 1)
        if how == "usr1":
            proc.send_signal(signal.SIGUSR1)
            wait_for(lambda: r.hget(SEEN, "7") == b"1")  # the worker went on to the next job
            [rec] = failures(r)
            assert rec["exception"] == "Resque::DirtyExit" and "SIGKILL" in rec["error"]
            assert proc.poll() is None
        else:
            assert quit_worker(proc, signal.SIGTERM) == 0
            [rec] = failures(r)
            assert (rec["exception"], rec["error"]) == ("Resque::TermException", "SIGTERM")
            assert r.scard("resque:workers") == 0
    finally:
        quit_worker(proc)
    hung_pid = int(r.lindex(HUNG, 0).decode().split("|")[1])
    assert not Path(f"/proc/{hung_pid}").exists() or hung_pid == proc.pid
