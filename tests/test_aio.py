"""The asyncio client: the sync client's bytes, configuration and hooks, on redis.asyncio."""
from __future__ import annotations

import asyncio
import re
import threading
from typing import Any, Awaitable, Callable, Iterator

import pytest
import redis

import resque.aio
from resque import Registry, Resque
from resque.embedded import EmbeddedServer
from resque.errors import ConfigurationError, JobNotAllowed
from resque.failure import RedisFailure, RedisMultiQueueFailure
from resque.keys import Keys
from tests.helpers import RedisServer

_HANDSHAKE = ("PING", "HELLO", "CLIENT", "SELECT")


class Monitor:
    """Record every command a Redis server runs (MONITOR) until stopped."""

    def __init__(self, url: str):
        self.url = url
        self.seen: list[str] = []
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)

    def _listen(self) -> None:
        with redis.Redis.from_url(self.url).monitor() as m:
            self._ready.set()
            for info in m.listen():
                if info["command"] == "ECHO monitor-stop":
                    return
                self.seen.append(info["command"])

    def __enter__(self) -> "Monitor":
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: Any) -> None:
        redis.Redis.from_url(self.url).echo("monitor-stop")
        self._thread.join(10)

    @property
    def commands(self) -> list[str]:
        """The recorded commands without connection handshakes."""
        return [c for c in self.seen if not c.startswith(_HANDSHAKE)]


class Mail:
    """A job class with every client-side hook."""

    queue = "mail"
    calls: list[tuple[str, tuple[Any, ...]]] = []

    @classmethod
    def before_enqueue_check(cls, *args: Any) -> bool:
        cls.calls.append(("before_enqueue", args))
        return args != ("veto",)

    @classmethod
    def after_enqueue_log(cls, *args: Any) -> None:
        cls.calls.append(("after_enqueue", args))

    @classmethod
    def before_dequeue_log(cls, *args: Any) -> None:
        cls.calls.append(("before_dequeue", args))

    @classmethod
    def after_dequeue_log(cls, *args: Any) -> None:
        cls.calls.append(("after_dequeue", args))

    @staticmethod
    def perform(*args: Any) -> None:
        if args == ("boom",):
            raise RuntimeError("boom")


@pytest.fixture
def registry() -> Iterator[Registry]:
    reg = Registry()
    reg.register(Mail, name="Mail::Deliver")
    Mail.calls = []
    yield reg


def run(make: Callable[[resque.aio.Resque], Awaitable[Any]], url: str, **kwargs: Any) -> Any:
    """Run ``make(client)`` on a fresh asyncio client in a fresh event loop."""
    async def main() -> Any:
        async with resque.aio.Resque(url, **kwargs) as client:
            return await make(client)
    return asyncio.run(main())


async def _producer_calls(c: Any) -> list[Any]:
    """One of each producer call; works on both clients (awaits when needed)."""
    async def call(value: Any) -> Any:
        return await value if asyncio.iscoroutine(value) else value
    return [
        await call(c.enqueue(Mail, "a@example.com", {"lang": "fr", "n": 1.5})),
        await call(c.enqueue_to("urgent", "Mail::Deliver", "b@example.com")),
        await call(c.enqueue(Mail, "veto")),
        await call(c.enqueue_many(Mail, [["x"], ["veto"], ["y", 2]])),
        await call(c.enqueue_many("Ruby::Job", [[1], [2]], queue="ruby")),
        await call(c.size("mail")),
        await call(c.peek("mail", 0, 10)),
        await call(c.peek("urgent")),
        await call(c.queues()),
        await call(c.dequeue(Mail, "x")),
        await call(c.dequeue("Ruby::Job", queue="ruby")),
        await call(c.dequeue(Mail)),
    ]


def test_async_producer_calls_send_the_same_commands_as_the_sync_client(redis_url, r, registry):
    with Monitor(redis_url) as sync_wire:
        sync_results = asyncio.run(_producer_calls(Resque(redis_url, registry=registry)))
    sync_calls, Mail.calls = Mail.calls, []
    r.flushall()
    with Monitor(redis_url) as async_wire:
        async_results = run(_producer_calls, redis_url, registry=registry)
    assert async_wire.commands == sync_wire.commands
    assert async_results == sync_results
    assert Mail.calls == sync_calls
    assert "MULTI" in async_wire.commands and "EXEC" in async_wire.commands


def test_info_workers_and_queue_sizes_match_the_sync_client(redis_url, r, registry):
    sync = Resque(redis_url, registry=registry)
    sync.enqueue(Mail, 1)
    sync.enqueue_to("other", Mail, 2)
    sync.store.register_worker("host:12:mail", "2024-05-01 12:00:00 +0000")
    sync.store.set_worker_job("host:12:mail", b'{"queue":"mail","run_at":"x","payload":{}}')
    sync.stats.incr("processed", 7)

    async def inspect(c: resque.aio.Resque) -> tuple[Any, ...]:
        return await c.info(), await c.workers(), await c.queue_sizes()

    info, workers, sizes = run(inspect, redis_url, registry=registry)
    assert info == sync.info()
    assert workers == sync.workers()
    assert sizes == sync.queue_sizes() == {"mail": 1, "other": 1}


def _fail(client: Resque, queue: str, *args: Any) -> None:
    try:
        raise ValueError(f"failed with {args}")
    except ValueError as exc:
        client.failure.record(exc, "host:1:" + queue, queue, {"class": "Mail::Deliver", "args": list(args)})


def _state(r: Any, namespace: str) -> dict[str, Any]:
    """Every list and set of a namespace, failure and retry stamps masked.

    Both namespaces' failures are recorded a moment apart, maybe in different seconds.
    """
    out: dict[str, Any] = {}
    for key in sorted(k.decode() for k in r.scan_iter(match=f"{namespace}:*")):
        kind = r.type(key).decode()
        values = r.lrange(key, 0, -1) if kind == "list" else sorted(r.smembers(key))
        out[key[len(namespace) + 1:]] = [
            re.sub(rb'"(failed_at|retried_at)":"[^"]*"', rb'"\1":"T"', v) for v in values]
    return out


@pytest.mark.parametrize("backend,cls", [("redis", RedisFailure),
                                          ("redis_multi_queue", RedisMultiQueueFailure)])
def test_failure_api_retries_and_removes_as_the_sync_backend_does(redis_url, r, registry, backend, cls):
    clients = {ns: Resque(redis_url, ns, registry=registry, failure=cls) for ns in ("sync", "aio")}
    for client in clients.values():
        for n in range(3):
            _fail(client, "mail", n)
        _fail(client, "urgent", "u")
    lists = ["failed"] if backend == "redis" else ["mail_failed"]
    sync = clients["sync"].failure
    sync_first = sync.all(0, 1, lists[0])[0]
    assert sync.requeue(sync_first) is not None
    assert sync.remove(1, lists[0])

    async def edit(c: resque.aio.Resque) -> tuple[Any, ...]:
        before = await c.failures.count()
        first = (await c.failures.all(0, 1, lists[0]))[0]
        stamp = await c.failures.requeue(first)
        removed = await c.failures.remove(1, lists[0])
        found = await c.failures.find(first.id[:8])
        gone = await c.failures.remove(first)  # its bytes changed when it was retried
        return before, stamp, removed, found, gone, await c.failures.queues()

    before, stamp, removed, found, gone, queues = run(edit, redis_url, namespace="aio",
                                                      registry=registry, failure=backend)
    assert before == 4
    assert stamp and removed and found is None and gone is False
    assert queues == sync.queues()
    assert _state(r, "aio") == _state(r, "sync")
    assert r.llen("aio:queue:mail") == 1


@pytest.mark.parametrize("backend,cls", [("redis", RedisFailure),
                                          ("redis_multi_queue", RedisMultiQueueFailure)])
def test_failure_counts_agree_with_the_sync_client(redis_url, registry, backend, cls):
    sync = Resque(redis_url, registry=registry, failure=cls)
    for n in range(3):
        _fail(sync, "mail", n)
    _fail(sync, "urgent", "u")
    try:
        raise ValueError("other")
    except ValueError as exc:
        sync.failure.record(exc, "host:1:mail", "mail", {"class": "Other", "args": []})

    async def counts(c: resque.aio.Resque) -> tuple[Any, ...]:
        return (await c.failed_count(), await c.failures.count(class_name="Other"),
                await c.failures.count(class_name="Mail::Deliver"), (await c.info())["failed"])

    got = run(counts, redis_url, registry=registry, failure=backend)
    assert got == (sync.failure.count(), sync.failure.count(class_name="Other"),
                   sync.failure.count(class_name="Mail::Deliver"), sync.info()["failed"])
    assert got[:3] == (5, 1, 4)


def test_info_and_workers_read_a_huge_job_record_cut_as_the_sync_client_does(redis_url, r, registry):
    wid = "box:1:big"
    r.sadd("resque:workers", wid)
    r.set(f"resque:worker:{wid}", b'{"queue":"big","run_at":"2024-05-01T12:35:00Z","payload":'
          b'{"class":"Huge","args":["' + b"x" * (5 * 2**20) + b'"]}}')
    sync = Resque(redis_url, registry=registry)

    async def read(c: resque.aio.Resque) -> tuple[Any, ...]:
        before = int(r.info("stats")["total_net_output_bytes"])
        info = await c.info()
        cut = (await c.workers(job_bytes=512))[0]
        return info, cut, int(r.info("stats")["total_net_output_bytes"]) - before

    info, cut, sent = run(read, redis_url, registry=registry)
    assert sent < 100_000, sent
    assert info == sync.info()
    want = sync.workers(job_bytes=512)[0]
    assert (cut.job_cut, cut.job_size, cut.job) == (want.job_cut, want.job_size, want.job)
    assert cut.job_cut and cut.job["payload"]["class"] == "Huge"


def test_the_async_failure_api_takes_the_sync_backends_arguments():
    import inspect

    from resque.aio.failures import AsyncFailures
    for name, method in inspect.getmembers(AsyncFailures, inspect.isfunction):
        if not name.startswith("_"):
            params = list(inspect.signature(method).parameters)
            assert params == list(inspect.signature(getattr(RedisFailure, name)).parameters), name


def test_async_client_reads_urls_ruby_addresses_and_the_environment(monkeypatch, registry):
    server = RedisServer(tcp=True, aof=False).start()
    try:
        raw = redis.Redis(port=server.port, db=3)
        forms = [(f"127.0.0.1:{server.port}:3/ruby", {}, "ruby"),
                 (f"redis://127.0.0.1:{server.port}/3", {}, "resque"),
                 (None, {"RESQUE_REDIS_URL": f"redis://127.0.0.1:{server.port}/3"}, "resque"),
                 (None, {"REDIS_URL": f"127.0.0.1:{server.port}:3/fromenv"}, "fromenv")]
        for source, env, namespace in forms:
            monkeypatch.delenv("RESQUE_REDIS_URL", raising=False)
            monkeypatch.delenv("REDIS_URL", raising=False)
            for name, value in env.items():
                monkeypatch.setenv(name, value)
            raw.flushdb()
            assert run(lambda c: c.enqueue(Mail, namespace), source, registry=registry)
            assert sorted(raw.keys()) == sorted([f"{namespace}:queues".encode(),
                                                 f"{namespace}:queue:mail".encode()])
            assert raw.lrange(f"{namespace}:queue:mail", 0, -1) == [
                b'{"class":"Mail::Deliver","args":["%s"]}' % namespace.encode()]
        assert run(lambda c: c.size("mail"), f"127.0.0.1:{server.port}:3", namespace="fromenv") == 1
    finally:
        server.cleanup()


def test_starting_the_embedded_server_does_not_block_the_event_loop(tmp_path, monkeypatch):
    monkeypatch.delenv("RESQUE_REDIS_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    data = tmp_path / "d"

    async def main() -> tuple[int, str, int]:
        client = resque.aio.Resque(data_dir=data)
        connecting = asyncio.ensure_future(client.connect())
        ticks = 0
        while not connecting.done():  # the loop keeps running while the server starts
            await asyncio.sleep(0.001)
            ticks += 1
        await connecting
        try:
            await client.enqueue_to("q", "Some::Job", 1)
            return ticks, client.redis_id, await client.size("q")
        finally:
            await client.aclose()

    try:
        ticks, where, size = asyncio.run(main())
    finally:
        EmbeddedServer(data).stop()
    assert ticks > 0
    assert where == f"unix://{data.resolve()}/redis.sock/resque" and size == 1


def test_inline_mode_runs_jobs_in_a_thread_and_raises_their_errors(registry):
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(threading.current_thread().name)

    registry.register(record, name="Record", queue="q")

    async def main() -> None:
        client = resque.aio.Resque("redis://127.0.0.1:1/0", registry=registry, inline=True)
        assert await client.enqueue(record, 1) is True
        assert await client.enqueue_many(record, [[1], [2]]) == 2
        with pytest.raises(RuntimeError, match="boom"):
            await client.enqueue(Mail, "boom")
        with pytest.raises(JobNotAllowed, match="not defined here"):
            await client.enqueue_to("q", "Elsewhere::Job")

    asyncio.run(main())  # a closed port: inline mode never touches Redis
    assert len(seen) == 3 and threading.main_thread().name not in seen


def test_a_sync_client_or_a_bad_backend_is_refused_with_a_clear_error(redis_url, r, monkeypatch):
    with pytest.raises(ConfigurationError, match="not a sync client"):
        run(lambda c: c.size("q"), r)  # type: ignore[arg-type]
    monkeypatch.setenv("FAILURE_BACKEND", "multiple")
    with pytest.raises(ConfigurationError, match="reads 'redis' or 'redis_multi_queue'"):
        resque.aio.Resque(redis_url)
    with pytest.raises(ConfigurationError, match="await client.connect"):
        _ = resque.aio.Resque(redis_url, failure="redis").namespace


def test_an_asyncio_redis_client_is_used_as_given(redis_url, r, registry):
    async def main() -> tuple[bool | None, list[bytes]]:
        raw = redis.asyncio.Redis.from_url(redis_url)
        async with resque.aio.Resque(raw, "given", registry=registry) as client:
            done = await client.enqueue(Mail, 1)
            return done, await raw.lrange(Keys("given").queue("mail"), 0, -1)
    assert asyncio.run(main()) == (True, [b'{"class":"Mail::Deliver","args":[1]}'])


def test_concurrent_enqueuers_on_one_pool_lose_nothing(redis_url, r, registry):
    async def main(c: resque.aio.Resque) -> int:
        async def producer(n: int) -> None:
            for i in range(50):
                await c.enqueue_to("many", Mail, n, i)
        await asyncio.gather(*(producer(n) for n in range(20)))
        return await c.size("many")
    assert run(main, redis_url, registry=registry) == 1000


def test_monitor_helper_sees_commands(redis_url, r):
    """The wire comparison above is only as good as its recorder: it records."""
    with Monitor(redis_url) as wire:
        redis.Redis.from_url(redis_url).rpush("resque:queue:x", b"1")
    assert wire.commands == ["RPUSH resque:queue:x 1"]
