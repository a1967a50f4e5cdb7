"""OpenTelemetry tracing: a producer span per enqueue, a consumer span per perform.

Install the ``otel`` extra and, where jobs are enqueued and where they run
(the app module a worker loads), call::

    from resque.contrib.otel import instrument
    instrument()                        # the default registry, the global tracer provider

The trace context travels inside the payload as extra top-level members
(``traceparent``, ``tracestate``, ``baggage``: what the configured
propagator writes), exactly where Ruby's opentelemetry-instrumentation-resque
puts them, so traces continue across Ruby and Python producers and
workers. Ruby Resque ignores members it does not know; a Ruby retry
(``Failure.requeue``) re-creates the payload from ``class`` and ``args`` and
the retried job starts a new trace. Spans follow the messaging semantic
conventions: ``send <queue>`` (kind PRODUCER) and ``process <queue>`` (kind
CONSUMER), with ``messaging.system``, ``messaging.destination.name``,
``messaging.operation.type``/``.name`` and ``messaging.resque.job_class``.
A job that raises ends its span with status ERROR and the exception.

In a forked child the perform span is flushed before the child exits
(``os._exit`` skips exit handlers, so a batching processor would lose it).
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any, Iterator

from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind

from ..job import Job
from ..keys import __version__
from ..middleware import JobMiddleware, Payload
from ..payload import job_class
from .. import registry as registries
from ..registry import Registry

SYSTEM = "resque"
_RESERVED = frozenset({"class", "args"})


def attributes(queue: str, name: str | None, operation: str, operation_name: str) -> dict[str, str]:
    """Return the messaging semantic-convention attributes of a span."""
    attrs = {
        "messaging.system": SYSTEM,
        "messaging.destination.name": queue,
        "messaging.operation.type": operation,
        "messaging.operation.name": operation_name,
    }
    if name:
        attrs["messaging.resque.job_class"] = name
    return attrs


def carrier_of(payload: Any) -> dict[str, str]:
    """Return a payload's string members: what a propagator may read."""
    if not isinstance(payload, dict):
        return {}
    return {k: v for k, v in payload.items() if isinstance(v, str) and k not in _RESERVED}


class OpenTelemetryMiddleware(JobMiddleware):
    """Trace enqueue and perform with one tracer."""

    def __init__(self, tracer_provider: Any = None):
        self.provider = tracer_provider
        self.tracer = trace.get_tracer("resque", __version__, tracer_provider=tracer_provider)
        self.pid = os.getpid()

    @contextmanager
    def enqueue(self, queue: str, payload: Payload) -> Iterator[None]:
        name = job_class(payload)
        with self.tracer.start_as_current_span(
                f"send {queue}", kind=SpanKind.PRODUCER,
                attributes=attributes(queue, name, "send", "enqueue")):
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            payload.update((k, v) for k, v in carrier.items() if k not in _RESERVED)
            yield

    @contextmanager
    def perform(self, job: Job) -> Iterator[None]:
        parent = propagate.extract(carrier_of(job.payload))
        try:
            with self.tracer.start_as_current_span(
                    f"process {job.queue}", context=parent, kind=SpanKind.CONSUMER,
                    attributes=attributes(job.queue, job.name, "process", "perform")):
                yield
        finally:
            if os.getpid() != self.pid:
                self.flush()

    def flush(self, timeout_millis: int = 5000) -> None:
        """Export buffered spans now (a forked child calls this before it exits)."""
        provider = self.provider or trace.get_tracer_provider()
        force_flush = getattr(provider, "force_flush", None)
        if callable(force_flush):
            force_flush(timeout_millis)


def instrument(registry: Registry | None = None,
               tracer_provider: Any = None) -> OpenTelemetryMiddleware:
    """Trace every job of ``registry`` (default: the default registry)."""
    middleware = OpenTelemetryMiddleware(tracer_provider)
    (registry or registries.default_registry).use(middleware)
    return middleware
