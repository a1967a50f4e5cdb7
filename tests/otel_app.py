"""An app module for ``resque work -A tests.otel_app``: traced jobs, spans written to a file.

The file (``RESQUE_TEST_SPANS``) gets one JSON line per finished span, so
a test can read what a forked child exported.
"""
from __future__ import annotations

import json
import os
from typing import Any, Sequence

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from resque.client import job
from resque.contrib.otel import instrument


def span_line(span: ReadableSpan) -> dict[str, Any]:
    ctx = span.get_span_context()
    assert ctx is not None
    return {"name": span.name, "kind": span.kind.name, "trace_id": f"{ctx.trace_id:032x}",
            "span_id": f"{ctx.span_id:016x}",
            "parent_id": f"{span.parent.span_id:016x}" if span.parent else None,
            "status": span.status.status_code.name, "attributes": dict(span.attributes or {}),
            "events": [e.name for e in span.events], "pid": os.getpid()}


class JsonLinesExporter(SpanExporter):
    """Append each span as a JSON line to a file (safe across processes)."""

    def __init__(self, path: str):
        self.path = path

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with open(self.path, "a", encoding="utf-8") as f:
            for span in spans:
                f.write(json.dumps(span_line(span)) + "\n")
        return SpanExportResult.SUCCESS


provider = TracerProvider()
provider.add_span_processor(BatchSpanProcessor(JsonLinesExporter(os.environ["RESQUE_TEST_SPANS"]),
                                               schedule_delay_millis=60_000))
instrument(tracer_provider=provider)


@job(queue="traced", name="Traced")
class Traced:
    @staticmethod
    def perform(what: str) -> None:
        if what == "boom":
            raise RuntimeError("boom in a traced job")
