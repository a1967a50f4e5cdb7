"""Stats pages, the key browser, ``/stats.txt``, ``/metrics`` and the API index."""
from __future__ import annotations

import re
from typing import Any

import falcon

from ..client import Resque
from ..replies import Corrupt
from ..timing import BUCKETS, CLASS_CAP, ClassTiming, Timing
from . import views
from .render import Page, Renderer, start_param

KEYS_PER_PAGE = 100
VALUE_BYTES = 4096  # of a string or list element shown in the key browser
# Characters that end or corrupt a line for some reader: C0/C1 controls, DEL,
# and Unicode's line and paragraph separators.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"


class StatsResque(Page):
    """``Resque.info`` as a table."""

    template = "stats.html"
    tab = "stats"

    def data(self, req: falcon.Request, **params: Any) -> dict[str, Any]:
        info = self.client.info()
        return {"view": "resque", "info": {k: info[k] for k in sorted(info)}}


class StatsRedis(Page):
    """The Redis server's INFO, sorted by field."""

    template = "stats.html"
    tab = "stats"

    def data(self, req: falcon.Request, **params: Any) -> dict[str, Any]:
        info = self.client.store.server_info()
        return {"view": "redis", "info": {str(k): info[k] for k in sorted(info, key=str)}}


def seconds(value: float) -> str:
    """Write a duration briefly: ``850 µs``, ``12.5 ms``, ``3.20 s``, then as ``views.age``."""
    if value < 0.001:
        return f"{value * 1e6:.0f} µs"
    if value < 1:
        return f"{value * 1000:.1f} ms"
    if value < 120:
        return f"{value:.2f} s"
    return views.age(value) or ""


def timing_row(t: ClassTiming) -> dict[str, Any]:
    """Describe one class's run times for the page and the API."""
    peak = max(t.buckets) or 1
    bars = [{"le": "+Inf" if i == len(BUCKETS) else BUCKETS[i], "count": n,
             "height": round(40 * n / peak, 1)} for i, n in enumerate(t.buckets)]
    return {"class": t.name, "count": t.count, "sum": round(t.sum, 6),
            "mean": round(t.mean, 6), "p50": round(t.quantile(0.5), 6),
            "p95": round(t.quantile(0.95), 6), "p99": round(t.quantile(0.99), 6),
            "buckets": bars,
            "shown": {k: seconds(v) for k, v in (("mean", t.mean), ("p50", t.quantile(0.5)),
                                                 ("p95", t.quantile(0.95)),
                                                 ("p99", t.quantile(0.99)), ("sum", t.sum))}}


class StatsTiming(Page):
    """Job run times per class: counts, mean, estimated percentiles, histogram."""

    template = "stats_timing.html"
    tab = "stats"

    def data(self, req: falcon.Request, **params: Any) -> dict[str, Any]:
        rows = sorted((timing_row(t) for t in Timing(self.client.store).classes()),
                      key=lambda r: -r["sum"])
        return {"view": "timing", "classes": rows, "bounds": list(BUCKETS), "cap": CLASS_CAP}


class StatsKeys(Page):
    """Every key under the namespace with its type and size, a page at a time."""

    template = "stats_keys.html"
    tab = "stats"

    def data(self, req: falcon.Request, **params: Any) -> dict[str, Any]:
        names = self.client.keys()
        start = start_param(req)
        rows = []
        for name in names[start:start + KEYS_PER_PAGE]:
            kind, size = self.client.store.key_info(name)
            rows.append({"key": name, "type": kind, "size": size})
        return {"view": "keys", "keys": rows,
                "page": views.pager(start, KEYS_PER_PAGE, len(names), len(rows))}


class StatsKey(Page):
    """One key's value, or a page of its elements."""

    template = "stats_key.html"
    tab = "stats"

    def data(self, req: falcon.Request, key: str = "", **params: Any) -> dict[str, Any]:
        start = start_param(req)
        kind, size = self.client.store.key_info(key)
        if kind == "none":
            raise falcon.HTTPNotFound(title="No such key",
                                      description=f"There is no key {key!r} in this namespace.")
        _, values, cursor = self.client.store.key_values(key, start, views.PER_PAGE, VALUE_BYTES)
        page = None if kind == "string" else views.pager(start, views.PER_PAGE, size, len(values))
        if page is not None and kind in ("set", "hash"):  # SSCAN/HSCAN: a cursor, not an offset
            page = dict(views.pager(0, views.PER_PAGE, None, len(values), cursor is not None),
                        next=cursor, prev=0 if start else None)
        return {"view": "keys", "key": key, "type": kind, "size": size,
                "values": values, "page": page}


class StatsText:
    """Ruby's ``/stats.txt`` lines, for old monitoring scripts (read-only)."""

    def __init__(self, client: Resque, out: Renderer):
        self.client = client
        self.out = out

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        info = self.client.info()
        lines = [
            f"resque.pending={info['pending']}", f"resque.processed+={one_line(str(info['processed']))}",
            f"resque.failed+={info['failed']}", f"resque.workers={info['workers']}",
            f"resque.working={info['working']}",
        ]
        lines += [f"queues.{one_line(q)}={n}" for q, n in self.client.queue_sizes().items()]
        self.out.text(resp, "\n".join(lines), "text/plain; charset=utf-8")


def one_line(value: str) -> str:
    """Write each control or line-separator character as ``\\xNN``/``\\uNNNN``."""
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                       else f"\\u{ord(m.group()):04x}", value)


def _label(value: str) -> str:
    """Escape a Prometheus label value: its three escapes, then other controls."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return _UNSAFE.sub(lambda m: "\\" + one_line(m.group()), escaped)


def _sample(value: int | Corrupt) -> str:
    """Write a counter's sample value (NaN when the stored value is not a number)."""
    return "NaN" if isinstance(value, Corrupt) else str(value)


class Metrics:
    """Prometheus text-format metrics."""

    def __init__(self, client: Resque, out: Renderer):
        self.client = client
        self.out = out

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        c = self.client
        sizes = c.queue_sizes()
        lists, _ = views.failed_lists(c)
        workers = c.workers(job_bytes=512)
        out: list[str] = []

        def metric(name: str, kind: str, help_text: str, samples: list[tuple[str, Any]]) -> None:
            out.append(f"# HELP {name} {help_text}")
            out.append(f"# TYPE {name} {kind}")
            out.extend(f"{name}{labels} {value}" for labels, value in samples)

        metric("resque_queue_size", "gauge", "Jobs waiting in each queue.",
               [(f'{{queue="{_label(q)}"}}', n) for q, n in sizes.items()])
        metric("resque_pending", "gauge", "Jobs waiting in all queues.", [("", sum(sizes.values()))])
        metric("resque_processed_total", "counter", "Jobs processed (stat:processed).",
               [("", _sample(c.stat("processed")))])
        metric("resque_failed_total", "counter", "Jobs failed (stat:failed).",
               [("", _sample(c.stat("failed")))])
        metric("resque_failures", "gauge", "Failure records kept, per failure list.",
               [(f'{{list="{_label(r["list"])}"}}', r["count"]) for r in lists])
        metric("resque_workers", "gauge", "Registered workers.", [("", len(workers))])
        metric("resque_working", "gauge", "Workers running a job.",
               [("", sum(1 for w in workers if w.job))])
        metric("resque_oldest_failure_age_seconds", "gauge",
               "Age of the oldest failure record (0 when there is none).",
               [("", round(views.oldest_failure_age(c), 3))])
        metric("resque_job_duration_seconds", "histogram",
               "Job run time per class, as measured by the workers.",
               histogram(Timing(c.store).classes()))
        self.out.text(resp, "\n".join(out) + "\n", PROMETHEUS)


def histogram(classes: list[ClassTiming]) -> list[tuple[str, Any]]:
    """Return the ``_bucket``/``_sum``/``_count`` samples of a histogram by class."""
    out: list[tuple[str, Any]] = []
    for t in classes:
        name = _label(t.name)
        bounds = [*(repr(b) for b in BUCKETS), "+Inf"]
        out += [(f'_bucket{{class="{name}",le="{le}"}}', n) for le, n in zip(bounds, t.cumulative())]
        out += [(f'_sum{{class="{name}"}}', repr(round(t.sum, 6))), (f'_count{{class="{name}"}}', t.count)]
    return out


API = {
    "/api/overview": "queues with sizes, failure lists with counts, busy workers",
    "/api/working": "busy workers with queue, class, args and running time",
    "/api/working/{worker_id}": "the job one worker runs",
    "/api/queues": "queues with sizes and failure lists",
    "/api/queues/{queue}?start=N": "20 pending jobs of a queue from offset N",
    "/api/workers": "all workers and the host summary",
    "/api/workers/{host|worker_id|all}": "workers of a host, one worker, or all",
    "/api/failed?start=&class=&queue=&order=": "a page of failures (or the list overview)",
    "/api/failed/{list}?start=&class=&queue=&order=": "a page of one failure list",
    "/api/history/{live|minute|day|queues|failures}": "the samples behind the charts",
    "/api/stats/resque": "Resque.info",
    "/api/stats/redis": "Redis INFO",
    "/api/stats/timing": "job run times per class: count, sum, mean, percentiles, histogram",
    "/api/stats/keys?start=N": "keys with type and size",
    "/api/stats/keys/{key}?start=N": "a key's value or 20 of its elements",
}


class ApiIndex:
    """List the JSON endpoints."""

    def __init__(self, out: Renderer):
        self.out = out

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.out.json(resp, {"root": req.root_path, "endpoints": API,
                             "metrics": "/metrics", "stats_txt": "/stats.txt"})
