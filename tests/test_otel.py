"""OpenTelemetry: producer and consumer spans, context carried in the payload, Ruby tolerance."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.trace import SpanKind, StatusCode  # noqa: E402

from resque import Registry, Resque  # noqa: E402
from resque.contrib.otel import instrument  # noqa: E402
from resque.worker import Worker, WorkerOptions  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ran: list[Any] = []


class Work:
    queue = "traced"

    @staticmethod
    def perform(what: str) -> None:
        ran.append(what)
        if what == "boom":
            raise RuntimeError("boom")


@pytest.fixture
def traced(r):  # type: ignore[no-untyped-def]
    """A client whose registry traces into an in-memory exporter."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    registry = Registry()
    registry.register(Work, name="Work")
    instrument(registry, tracer_provider=provider)
    ran.clear()
    return Resque(r, registry=registry), exporter


def drain(client: Resque) -> int:
    return Worker(["traced"], client, WorkerOptions(interval=0, fork=False)).work()


def test_enqueue_writes_a_producer_span_and_carries_its_context_in_the_payload(traced, r):
    client, exporter = traced
    client.enqueue(Work, "ok")
    (span,) = exporter.get_finished_spans()
    assert span.name == "send traced" and span.kind == SpanKind.PRODUCER
    assert dict(span.attributes or {}) == {
        "messaging.system": "resque", "messaging.destination.name": "traced",
        "messaging.operation.type": "send", "messaging.operation.name": "enqueue",
        "messaging.resque.job_class": "Work"}
    raw = r.lrange("resque:queue:traced", 0, -1)[0]
    assert raw.startswith(b'{"class":"Work","args":["ok"],"traceparent":"00-')
    trace_id = f"{span.context.trace_id:032x}"
    assert json.loads(raw)["traceparent"].startswith(f"00-{trace_id}-{span.context.span_id:016x}-")


def test_perform_continues_the_enqueue_trace_as_a_consumer_span(traced):
    client, exporter = traced
    client.enqueue(Work, "ok")
    assert drain(client) == 1 and ran == ["ok"]
    send, process = exporter.get_finished_spans()
    assert process.name == "process traced" and process.kind == SpanKind.CONSUMER
    assert process.context.trace_id == send.context.trace_id
    assert process.parent is not None and process.parent.span_id == send.context.span_id
    assert process.attributes["messaging.operation.type"] == "process"  # type: ignore[index]
    assert process.status.status_code == StatusCode.UNSET


def test_a_failing_job_ends_its_span_with_error_and_the_exception(traced, r):
    client, exporter = traced
    client.enqueue(Work, "boom")
    drain(client)
    process = exporter.get_finished_spans()[-1]
    assert process.status.status_code == StatusCode.ERROR
    assert [e.name for e in process.events] == ["exception"]
    assert process.events[0].attributes["exception.message"] == "boom"  # type: ignore[index]
    failure = json.loads(r.lindex("resque:failed", 0))
    assert failure["exception"] == "RuntimeError" and "traceparent" in failure["payload"]


def test_enqueue_many_gives_each_job_its_own_span_and_context(traced, r):
    client, exporter = traced
    assert client.enqueue_many(Work, [["a"], ["b"], ["c"]]) == 3
    spans = exporter.get_finished_spans()
    parents = {json.loads(p)["traceparent"] for p in r.lrange("resque:queue:traced", 0, -1)}
    assert len(spans) == 3 and len(parents) == 3
    drain(client)
    assert sorted(ran) == ["a", "b", "c"]


def test_the_asyncio_client_carries_the_context_too(traced, r, redis_url):
    client, exporter = traced
    from resque import aio as resque_aio

    async def go() -> None:
        aio = resque_aio.Resque(redis_url, registry=client.registry)
        try:
            await aio.enqueue(Work, "async")
        finally:
            await aio.aclose()

    asyncio.run(go())
    assert json.loads(r.lindex("resque:queue:traced", 0))["traceparent"].startswith("00-")
    assert [s.name for s in exporter.get_finished_spans()] == ["send traced"]


def test_a_ruby_style_retry_without_trace_members_runs_as_a_new_trace(traced, r):
    client, exporter = traced
    r.sadd("resque:queues", "traced")
    r.rpush("resque:queue:traced", b'{"class":"Work","args":["retried"]}')  # Failure.requeue's shape
    assert drain(client) == 1 and ran == ["retried"]
    (process,) = exporter.get_finished_spans()
    assert process.parent is None and process.kind == SpanKind.CONSUMER


def test_a_traced_payload_runs_on_a_worker_without_tracing(r):
    registry = Registry()
    registry.register(Work, name="Work")
    ran.clear()
    r.rpush("resque:queue:traced", b'{"class":"Work","args":["plain"],'
                                   b'"traceparent":"00-0af7651916cd43dd8448eb211c80319c-'
                                   b'b7ad6b7169203331-01","tracestate":"ruby=1"}')
    assert drain(Resque(r, registry=registry)) == 1 and ran == ["plain"]
    assert r.llen("resque:failed") == 0


def test_dequeue_by_arguments_removes_traced_jobs(traced, r):
    client, exporter = traced
    client.enqueue(Work, "keep")
    client.enqueue(Work, "drop")
    assert client.dequeue(Work, "drop") == 1
    assert [json.loads(p)["args"] for p in r.lrange("resque:queue:traced", 0, -1)] == [["keep"]]


def test_without_middleware_payload_bytes_stay_canonical(r):
    registry = Registry()
    registry.register(Work, name="Work")
    Resque(r, registry=registry).enqueue(Work, "x")
    assert r.lindex("resque:queue:traced", 0) == b'{"class":"Work","args":["x"]}'


def _spans(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_context_crosses_into_a_real_forked_worker_process(r, redis_url, tmp_path):
    spans_file = tmp_path / "spans.jsonl"
    env = dict(os.environ, RESQUE_REDIS_URL=redis_url, PYTHONPATH=str(ROOT),
               RESQUE_TEST_SPANS=str(spans_file))
    env.pop("QUEUE", None)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    registry = Registry()
    instrument(registry, tracer_provider=provider)
    producer = Resque(r, registry=registry)
    producer.enqueue_to("traced", "Traced", "fine")
    producer.enqueue_to("traced", "Traced", "boom")
    sends = exporter.get_finished_spans()
    subprocess.run([sys.executable, "-m", "resque", "work", "-A", "tests.otel_app",
                    "--queues", "traced", "--interval", "0"],
                   cwd=ROOT, env=env, check=True, timeout=60, capture_output=True)
    processes = [s for s in _spans(spans_file) if s["kind"] == "CONSUMER"]
    assert [s["attributes"]["messaging.resque.job_class"] for s in processes] == ["Traced"] * 2
    for send, process in zip(sends, processes):
        assert process["trace_id"] == f"{send.context.trace_id:032x}"
        assert process["parent_id"] == f"{send.context.span_id:016x}"
        assert process["pid"] != os.getpid()
    assert [p["status"] for p in processes] == ["UNSET", "ERROR"]
    assert processes[1]["events"] == ["exception"]
    assert len({p["pid"] for p in processes}) == 2  # one forked child per job
