"""Whatever bytes reach a queue either run or end in a record that every tool can act on.

Hostile-but-decodable payloads (integers past 64 bits next to NaN or
Infinity, numbers beyond float range, lone surrogates, nesting deeper than
the encoder goes) and undecodable entries (``null``, malformed JSON,
non-objects, non-UTF-8) are drained by a real worker. Every record must be
strict JSON, re-creatable by Ruby's ``Failure.requeue``
(``Job.create(queue, payload['class'], *payload['args'])``), and our retry
must push back the element's original bytes.
"""
from __future__ import annotations

import json
import signal
import socket
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resque import Registry, Resque
from resque.failure.base import build_record
from resque.payload import UNDECODABLE
from resque.prune import prune_dead_workers
from resque.worker import Worker, WorkerOptions

RUNS = "undecodable:runs"
BIG = "123456789012345678901234567890"


def strict(raw: bytes) -> Any:
    """Parse as a strict JSON reader (Ruby's ``JSON.parse``) does: no NaN, no Infinity."""
    def refuse(name: str) -> Any:
        raise ValueError(f"{name} in a record")
    value = json.loads(raw, parse_constant=refuse)
    raw.decode("utf-8")  # strict UTF-8: no lone surrogates
    return value


def ruby_requeue(record: dict[str, Any]) -> bytes:
    """What Ruby's ``Failure.requeue`` pushes for a record, or raise where Ruby raises."""
    payload = record["payload"]
    if not isinstance(payload, dict):
        raise TypeError(f"payload['class'] on {type(payload).__name__}")  # String#[] / TypeError
    klass, args = payload.get("class"), payload.get("args")
    if not isinstance(record.get("queue"), str):
        raise ValueError("NoQueueError")
    if klass is None or klass is False or str(klass) == "":
        raise ValueError("NoClassError")
    splat = [] if args is None else args if isinstance(args, list) else [args]
    return json.dumps({"class": str(klass), "args": splat}, separators=(",", ":")).encode()


def check_record(client: Resque, raw: bytes, element: bytes | None) -> dict[str, Any]:
    record = strict(raw)
    ruby_requeue(record)
    failure = next(f for f in client.failure.each(0, None) if f.raw == raw)
    if element is not None and failure.undecodable:
        assert failure.original_bytes == element and failure.retry_payload == element
    return record


@pytest.fixture
def uclient(r):
    registry = Registry()
    client = Resque(r, registry=registry)

    def ok(*args: Any) -> None:
        client.redis.rpush(RUNS, json.dumps(args))  # stdlib: any depth our decoder allows

    registry.register(ok, name="Ok")
    return client


def drain(client: Resque, elements: list[bytes], fork: bool) -> None:
    client.redis.flushdb()
    for e in elements:
        client.store.push("u", e)
    saved = {s: signal.getsignal(s) for s in (signal.SIGQUIT, signal.SIGTERM, signal.SIGINT,
                                               signal.SIGUSR1, signal.SIGUSR2, signal.SIGCONT,
                                               signal.SIGCHLD)}
    try:
        Worker(["u"], client, WorkerOptions(interval=0, fork=fork)).work()
    finally:
        for s, h in saved.items():
            signal.signal(s, h)


def account(client: Resque, elements: list[bytes]) -> None:
    r = client.redis
    assert r.llen("resque:queue:u") == 0 and r.scard("resque:workers") == 0
    records = r.lrange("resque:failed", 0, -1)
    assert len(records) + r.llen(RUNS) == len(elements)
    assert int(r.get("resque:stat:failed") or 0) == len(records)
    kept = sorted(f.retry_payload for f in client.failure.each(0, None) if f.undecodable)
    for raw in records:
        check_record(client, raw, None)
    assert all(k in elements for k in kept)


hostile_numbers = st.sampled_from([b"NaN", b"-Infinity", b"Infinity", b"1e400", b"-1e999",
                                   b'"\\ud800"', b'"x\\udfff"', b'"\\ud83d\\ude00"', b"1.5", b"-0"])


@st.composite
def hostile(draw: Any) -> bytes:
    """A payload with a job class that the old decoder accepted and no encoder could write."""
    parts = [BIG.encode()] + draw(st.lists(hostile_numbers, min_size=1, max_size=3))
    args = b"[" + b",".join(draw(st.permutations(parts))) + b"]"
    depth = draw(st.sampled_from([0, 0, 300, 900]))
    if depth:
        args = b"[" + b"[" * depth + b"]" * depth + b"," + args[1:]
    name = draw(st.sampled_from([b"Ok", b"Missing"]))
    return b'{"class":"' + name + b'","args":' + args + b"}"


undecodable = st.sampled_from([b"null", b"[1]", b'"text"', b"42", b"true", b"{}", b'{"args":[1]}',
                               b'{"class":""}', b"{not json}", b"", b" ", b"\xff\xfe\x00",
                               b'{"class":"Ok","args":[1]', b"{\xff}", b'\n{"class":"Ok"}'[1:]])
good = st.integers(0, 10**6).map(lambda i: b'{"class":"Ok","args":[%d]}' % i)
padded = st.sampled_from([b' {"class":"Ok","args":["padded"]}', b'{"class":"Ok","args":["nl"]}\n'])
elements = st.lists(st.one_of(hostile(), undecodable, good, padded), min_size=1, max_size=6)
_SETTINGS: dict[str, Any] = dict(
    deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large])


@settings(max_examples=60, **_SETTINGS)
@given(items=elements)
def test_every_element_runs_or_leaves_an_actionable_record_without_fork(uclient, items):
    drain(uclient, items, fork=False)
    account(uclient, items)


@settings(max_examples=12, **_SETTINGS)
@given(items=elements)
def test_every_element_runs_or_leaves_an_actionable_record_with_fork(uclient, items):
    drain(uclient, items, fork=True)
    account(uclient, items)


@pytest.mark.parametrize("element", [b"null", b"[1,2]", b"{not json}", b"\xff\xfe", b'{"args":[]}',
                                     b'{"class":"Ok","args":[' + BIG.encode() + b",NaN]}"])
def test_undecodable_entry_is_a_stand_in_that_ruby_requeues_and_we_retry_as_the_original(
        uclient, r, element):
    drain(uclient, [element], fork=False)
    [raw] = r.lrange("resque:failed", 0, -1)
    record = check_record(uclient, raw, element)
    assert record["payload"]["class"] == UNDECODABLE and record["queue"] == "u"
    assert record["exception"] == "resque.errors.PayloadError"
    failure = uclient.failure.all(0)[0]
    assert failure.undecodable and failure.original_bytes == element
    # Ruby's retry pushes the stand-in; a worker fails it again, keeping the same bytes.
    r.rpush("resque:queue:u", ruby_requeue(record))
    drain_keep = r.lrange("resque:failed", 0, -1)
    Worker(["u"], uclient, WorkerOptions(interval=0, fork=False)).work()
    again = [json.loads(x) for x in r.lrange("resque:failed", 0, -1) if x not in drain_keep]
    assert [a["payload"] for a in again] == [record["payload"]]
    assert "not a job" in again[0]["error"]
    # Our retry pushes the original bytes, exactly.
    r.delete("resque:failed")
    r.rpush("resque:failed", raw)
    assert uclient.failure.requeue(0) is not None
    assert r.lrange("resque:queue:u", 0, -1) == [element]
    assert strict(r.lindex("resque:failed", 0))["retried_at"]


def test_retry_all_requeues_every_record_ruby_and_ours_alike(uclient, r):
    drain(uclient, [b"null", b"{oops", b'{"class":"Missing","args":[1]}', b"[3]"], fork=False)
    records = [strict(x) for x in r.lrange("resque:failed", 0, -1)]
    assert [ruby_requeue(rec) for rec in records]  # Ruby's "Retry all" raises on none of them
    assert uclient.failure.requeue_all() == 4
    assert sorted(r.lrange("resque:queue:u", 0, -1)) == sorted(
        [b"null", b"{oops", b'{"class":"Missing","args":[1]}', b"[3]"])


@pytest.mark.parametrize("payload", ["not json{", None, [1, 2], {"args": [1]}])
def test_our_retry_of_an_older_non_job_record_pushes_its_original_bytes(uclient, r, payload):
    r.rpush("resque:failed", json.dumps({
        "failed_at": "2024/05/01 12:34:56 UTC", "payload": payload, "exception": "PayloadError",
        "error": "bad", "backtrace": [], "worker": "w", "queue": "u"}))
    failure = uclient.failure.all(0)[0]
    assert failure.undecodable
    assert uclient.failure.requeue(failure) is not None
    expected = payload.encode() if isinstance(payload, str) else json.dumps(payload, separators=(",", ":")).encode()
    assert r.lrange("resque:queue:u", 0, -1) == [expected]
    assert b'"class":""' not in r.lindex("resque:queue:u", 0)


def test_a_record_is_written_whatever_the_exception_message_holds(uclient, r):
    def boom(*args: Any) -> None:
        raise ValueError("lone \udc80 surrogate from the job")

    uclient.registry.register(boom, name="Boom")
    drain(uclient, [b'{"class":"Boom","args":["x"]}'], fork=False)
    [raw] = r.lrange("resque:failed", 0, -1)
    record = strict(raw)
    assert record["error"] == "lone \\udc80 surrogate from the job"
    assert record["payload"] == {"class": "Boom", "args": ["x"]}


def test_a_payload_no_encoder_can_write_keeps_its_bytes_in_the_record():
    deep = b'{"class":"Ok","args":[' + b"[" * 400 + b"]" * 400 + b"]}"
    record = strict(build_record(ValueError("x"), "w", "q", json.loads(deep), raw=deep))
    assert json.dumps(record["payload"], separators=(",", ":")).encode() == deep
    record = strict(build_record(ValueError("x"), "w", "q", {"class": "A", "args": [float("nan")]}))
    assert record["payload"]["class"] == UNDECODABLE and "NaN" in record["payload"]["args"][0]


@pytest.mark.parametrize("requeue", [False, True], ids=["fail", "requeue"])
def test_pruning_a_dead_worker_whose_record_no_encoder_can_write_prunes_all(uclient, r, requeue):
    host = socket.gethostname()
    bad = b'{"class":"Ok","args":[' + BIG.encode() + b',NaN,"\\udc80"]}'
    dead = [f"{host}:999991:u", f"{host}:999992:u"]
    for wid, payload in zip(dead, [bad, b'{"class":"Ok","args":[2]}']):
        r.sadd("resque:workers", wid)
        r.set(f"resque:worker:{wid}", b'{"queue":"u","run_at":"2000-01-01T00:00:00Z","payload":'
              + payload + b"}")
    assert sorted(prune_dead_workers(uclient, None, requeue=requeue, force=True)) == dead
    assert r.scard("resque:workers") == 0
    if requeue:
        assert sorted(r.lrange("resque:queue:u", 0, -1)) == sorted([b'{"class":"Ok","args":[2]}', bad])
    else:
        records = r.lrange("resque:failed", 0, -1)
        assert len(records) == 2
        [held] = [f for f in uclient.failure.each(0, None) if f.undecodable]
        assert held.original_bytes == bad
        for raw in records:
            check_record(uclient, raw, None)
