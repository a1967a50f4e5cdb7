"""Arbitrary queue elements: each bad one becomes a readable failure record.

Property-based: hypothesis mixes good jobs with arbitrary bytes, truncated
JSON, wrong shapes, unknown and forbidden class names, huge, deeply nested
and non-UTF-8 payloads, pushes them raw onto a queue and lets a real worker
drain it. The worker must survive, run every good job once, turn every
other element into a failure record, and run nothing it was not given.
"""
from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resque import Registry, Resque
from resque.worker import Worker, WorkerOptions

RUNS = "badinput:runs"
CANARY = Path("/tmp") / "resque-badinput-canary"  # a forbidden job would create it
FORBIDDEN = ["os.system", "posix.system", "subprocess.Popen", "subprocess.run", "subprocess.call",
             "builtins.eval", "builtins.exec", "builtins.__import__", "shutil.rmtree", "pickle.loads",
             "importlib.import_module", "this.s", "antigravity.fly", "tests.jobs.Record", "os::system",
             "Os-system", "__import__", "eval", "exec", "resque.worker.Worker", "Ok.__class__",
             "Ok.perform", "..", ".", "os.", ".system"]
NEVER_IMPORTED = ["this", "antigravity"]


def good(i: int) -> bytes:
    return orjson.dumps({"class": "Ok", "args": [i, "good"]})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10)


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()  # stdlib: integers of any size


def _forbidden(name: str) -> bytes:
    return orjson.dumps({"class": name, "args": [f"touch {CANARY}", [f"touch {CANARY}"]]})


bad = st.one_of(
    st.binary(max_size=200),
    st.tuples(st.integers(0, 10_000), st.integers(1, 200)).map(lambda t: good(t[0])[: -(t[1] % 20 + 1)]),
    json_values.filter(lambda v: not isinstance(v, dict)).map(_json),
    st.dictionaries(st.sampled_from(["args", "klass", "queue", "Class"]), json_values, max_size=3)
    .map(_json),
    json_values.filter(lambda v: not isinstance(v, str) or not v)
    .map(lambda v: _json({"class": v, "args": []})),
    st.text(min_size=1, max_size=40).filter(lambda s: s != "Ok")
    .map(lambda s: orjson.dumps({"class": s, "args": []})),
    st.sampled_from(FORBIDDEN).map(_forbidden),
    st.integers(1, 3).map(lambda n: b'{"class":"' + b"A" * (n * 400_000) + b'","args":[]}'),
    st.integers(1, 3).map(lambda n: b'{"class":"Ok","args":["' + b"x" * (n * 700_000)),
    st.integers(1100, 20_000).map(lambda n: b'{"class":"Ok","args":' + b"[" * n + b"]" * n + b"}"),
    st.integers(1, 3000).map(lambda n: b"[" * n),
    st.binary(min_size=1, max_size=8).map(lambda b: b'{"class":"Ok","args":["' + b"\xff" + b + b'"]}'),
    st.sampled_from([b"", b" ", b"null", b"{}", b'{"class":"\\u0000","args":[]}', b'{"class":"a\\u0000b"}', b'{"class":null}', b'{"class":""}', b"\x00",
                     b'{"class":"Ok","args":[1]', b'{"class":"Ok","args":[1]}}', b"\xef\xbb\xbf{}"]),
)


def elements() -> Any:
    return st.lists(st.one_of(bad.map(lambda b: ("bad", b)), st.integers(0, 10**6).map(lambda i: ("good", i))),
                    min_size=1, max_size=8)


def drain(client: Resque, items: list[tuple[str, Any]], fork: bool) -> None:
    client.redis.flushdb()
    for kind, value in items:
        client.store.push("bad", good(value) if kind == "good" else value)
    saved = {s: signal.getsignal(s) for s in (signal.SIGQUIT, signal.SIGTERM, signal.SIGINT,
                                               signal.SIGUSR1, signal.SIGUSR2, signal.SIGCONT)}
    try:
        Worker(["bad"], client, WorkerOptions(interval=0, fork=fork)).work()
    finally:
        for s, h in saved.items():
            signal.signal(s, h)


def check(client: Resque, items: list[tuple[str, Any]]) -> None:
    r = client.redis
    assert r.llen("resque:queue:bad") == 0
    assert r.scard("resque:workers") == 0  # the worker ended normally and unregistered
    runs = [orjson.loads(x) for x in r.lrange(RUNS, 0, -1)]
    good_ids = sorted(v for kind, v in items if kind == "good")
    assert sorted(a[0] for a in runs if a[1:] == ["good"]) == good_ids
    failures = r.lrange("resque:failed", 0, -1)
    assert len(failures) + len(runs) == len(items)
    for raw in failures:
        record = json.loads(raw)  # valid UTF-8 JSON, whatever the payload held
        error = record["error"]
        assert isinstance(error, str) and error.strip() and len(error) < 1000, error[:300]
        assert error.isprintable(), error
        assert record["exception"] in ("resque.errors.PayloadError", "resque.errors.JobNotAllowed",
                                       "resque.job.JobArgumentError"), record
    assert not CANARY.exists()
    for name in NEVER_IMPORTED:
        assert name not in sys.modules


@pytest.fixture
def bad_client(r):
    registry = Registry()
    client = Resque(r, registry=registry)

    def ok(*args: Any) -> None:
        client.redis.rpush(RUNS, orjson.dumps(list(args)))

    registry.register(ok, name="Ok")
    CANARY.unlink(missing_ok=True)
    return client


_SETTINGS = dict(deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                        HealthCheck.data_too_large, HealthCheck.large_base_example])


@settings(max_examples=100, **_SETTINGS)
@given(items=elements())
def test_bad_elements_become_failures_without_fork(bad_client, items):
    drain(bad_client, items, fork=False)
    check(bad_client, items)


@settings(max_examples=15, **_SETTINGS)
@given(items=elements())
def test_bad_elements_become_failures_with_fork(bad_client, items):
    drain(bad_client, items, fork=True)
    check(bad_client, items)


@pytest.mark.parametrize("name", FORBIDDEN)
def test_each_forbidden_name_is_refused(bad_client, name):
    drain(bad_client, [("bad", _forbidden(name))], fork=False)
    check(bad_client, [("bad", None)])
    [record] = [json.loads(x) for x in bad_client.redis.lrange("resque:failed", 0, -1)]
    assert record["exception"] in ("resque.errors.JobNotAllowed", "resque.errors.PayloadError")
