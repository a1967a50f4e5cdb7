"""The failed page: list, filter, retry and remove failures.

Unfiltered pages read only their own window (``LLEN`` + one ``LRANGE``),
so a list of 100,000 failures costs the same as one of 20. Retry and
remove name a record by its id (content hash) and index, so the right
record is hit even if the list moved in between.
"""
from __future__ import annotations

import re
import time
from collections import Counter
from typing import Any, Callable, Iterator

import falcon

from ..failure import Failure, FailureBackend
from ..preview import Cut
from ..keys import failed_list_name
from . import views
from .history_views import HistoryViews
from .views import Record, read
from .render import Page, form, path_quote, redirect, start_param

CLASS_COUNT_LIMIT = 5000
SCAN_LIMIT = 2000  # records one filtered request reads at most
SCAN_HEAD, SCAN_TAIL = 512, 512  # bytes of a record read to filter it
_CHUNK = 500
_RUBY_GET_ACTION = re.compile(r"^(?:[^/]+/)?(?:requeue|remove)/(?:\d+|all)$")


def scan(backend: FailureBackend, name: str, order: str, skip: int = 0,
         limit: int | None = None) -> Iterator[Record]:
    """Yield records in chunks, newest first unless ``asc``, from ``skip`` on."""
    total = backend.count(name)
    end = total if limit is None else min(total, skip + limit)
    for pos in range(skip, end, _CHUNK):
        n = min(_CHUNK, end - pos)
        if order == "asc":
            yield from read(backend, name, pos, n, SCAN_HEAD, SCAN_TAIL)
        else:
            lo = max(0, total - pos - n)
            yield from reversed(read(backend, name, lo, total - pos - lo, SCAN_HEAD, SCAN_TAIL))


def window(backend: FailureBackend, name: str, start: int, per_page: int,
           order: str) -> tuple[list[Record], int]:
    """Return one page of a list (reading only that page) and the list size."""
    total = backend.count(name)
    if order == "asc":
        return (read(backend, name, start, per_page) if start < total else []), total
    hi = total - start
    lo = max(0, hi - per_page)
    return (list(reversed(read(backend, name, lo, hi - lo))) if hi > 0 else []), total


def filtered(backend: FailureBackend, name: str, p: dict[str, Any], per_page: int,
             now: float) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """Return one page of matching records, reading at most ``SCAN_LIMIT`` records.

    The search starts ``p["scan"]`` records in (in the page's order); when the
    window ends before the page fills, the scan info offers the next window.
    """
    rows: list[dict[str, Any]] = []
    skipped, more, read_count = 0, False, 0
    for f in scan(backend, name, p["order"], p["scan"], SCAN_LIMIT):
        read_count += 1
        row = views.failure_row(f, now)
        if not views.matches(row, p["class"], p["queue"]):
            continue
        if skipped < p["start"]:
            skipped += 1
        elif len(rows) == per_page:
            more = True
            break
        else:
            rows.append(read_one(backend, f, now))
    total = backend.count(name)
    searched_to = p["scan"] + read_count
    exhausted = not more and searched_to >= total
    scan_info = {"from": p["scan"], "to": searched_to, "total": total,
                 "next": None if exhausted or more else searched_to}
    count = skipped + len(rows) if exhausted and p["scan"] == 0 else None
    return rows, views.pager(p["start"], per_page, count, len(rows), more), scan_info


def read_one(backend: FailureBackend, f: Record, now: float) -> dict[str, Any]:
    """Describe a record found while filtering, read again with the page's budget."""
    if isinstance(f, views.CutFailure) and not f.piece.whole:
        again = read(backend, f.list_name, f.index, 1)
        if again:
            return views.failure_row(again[0], now)
    return views.failure_row(f, now)


def class_counts(backend: FailureBackend, name: str) -> list[dict[str, Any]]:
    """Count the records of a list per shown job class."""
    counts: Counter[str] = Counter()
    for f in scan(backend, name, "asc"):
        counts[views.display_class(f.data.get("payload"))[0]] += 1
    return [{"class": c, "count": n} for c, n in sorted(counts.items())]


class Failed(Page):
    """Failures with class, args, exception and backtrace; retry or remove them."""

    template = "failed.html"
    tab = "failed"

    def charts(self, req: falcon.Request, history: HistoryViews) -> dict[str, Any]:
        history.sample()
        return {"charts": [history.failures()]}

    def _params(self, req: falcon.Request) -> dict[str, Any]:
        order = req.get_param("order") or "desc"
        return {
            "start": start_param(req), "order": "asc" if order == "asc" else "desc",
            "class": req.get_param("class") or None, "queue": req.get_param("queue") or None,
            "scan": max(0, req.get_param_as_int("scan", default=0) or 0),
        }

    def _list(self, list_name: str, queue: str | None = None) -> str:
        """Return the failure list a path names (none: the queue's, or the first)."""
        backend = self.client.failure
        multi = getattr(backend, "multi_queue", False)
        names = backend.queues()
        if not list_name:
            if multi and queue:
                return failed_list_name(queue)
            return sorted(names)[0] if names else "failed"
        if _RUBY_GET_ACTION.match(list_name):
            raise falcon.HTTPMethodNotAllowed(
                ["POST"], title="Use the buttons",
                description="Retry and remove change data, so they are POST-only here; "
                            "use the Retry and Remove buttons on the failed page.")
        if not (multi or list_name in names):
            raise falcon.HTTPNotFound(title="No such failure list",
                                      description=f"There is no failure list {list_name!r}.")
        return list_name

    def data(self, req: falcon.Request, list_name: str = "", **params: Any) -> dict[str, Any]:
        lists, multi = views.failed_lists(self.client)
        p = self._params(req)
        base = {"lists": lists, "multi": multi, "list": None, "filters": p,
                "total": sum(r["count"] for r in lists)}
        if multi and not list_name and not (p["class"] or p["queue"]):
            if base["total"] <= CLASS_COUNT_LIMIT:
                for row in lists:
                    row["classes"] = class_counts(self.client.failure, row["list"])
            return dict(base, overview=True, failures=[], page=None)
        name = self._list(list_name, p["queue"])
        return dict(base, overview=False, list=name, list_path=list_name,
                    **self._failures(name, p))

    def _failures(self, name: str, p: dict[str, Any]) -> dict[str, Any]:
        backend, now = self.client.failure, time.time()
        backend.recover(name)  # records an interrupted bulk change left aside come back first
        per_page = views.PER_PAGE
        scan_info = None
        if p["class"] or p["queue"]:
            rows, page, scan_info = filtered(backend, name, p, per_page, now)
        else:
            items, total = window(backend, name, p["start"], per_page, p["order"])
            rows = [views.failure_row(f, now) for f in items]
            page = views.pager(p["start"], per_page, total, len(rows))
        registered = set(self.client.store.worker_ids()) if rows else set()
        for row in rows:
            row["worker_registered"] = row["worker"] in registered
        return {"failures": rows, "page": page, "list_count": backend.count(name),
                "scan": scan_info}

    # -- actions -------------------------------------------------------------

    def on_post(self, req: falcon.Request, resp: falcon.Response, list_name: str = "") -> None:
        if list_name:
            self._list(list_name)  # 404 for a list that does not exist
        fields = form(req)
        action = fields.get("action", "")
        backend = self.client.failure
        cls, queue = fields.get("class") or None, fields.get("queue") or None
        back = "/failed" + ("/" + path_quote(list_name) if list_name else "")
        keep = {"class": cls, "queue": queue, "start": fields.get("start"),
                "order": fields.get("order")}
        if action in ("retry", "remove"):
            self._one(req, resp, action, self._list(fields.get("list") or list_name), fields)
            if resp.text is not None:
                return
        elif action == "retry_all":
            self._retry_all(list_name, cls, queue)
        elif action == "clear":
            self._clear(list_name, cls, queue)
        elif action == "clear_retried":
            backend.clear_retried()
        else:
            raise falcon.HTTPBadRequest(
                title="Unknown action",
                description="Use retry, remove, retry_all, clear or clear_retried.")
        redirect(req, back, keep if action in ("retry", "remove") else {"class": cls, "queue": queue})

    def _find(self, name: str, fields: dict[str, str]) -> Failure | None:
        """Find the record a form names by id, near the index the page showed it at.

        Records mostly move toward the head (others removed before them), so
        at most ``SCAN_LIMIT`` records around that index, most of them
        before it, are read; without an index the whole list is searched, a
        window per Redis call.
        """
        fid = fields.get("id", "")
        if not re.fullmatch(r"[0-9a-f]{6,40}", fid):
            raise falcon.HTTPBadRequest(title="Bad failure id",
                                        description="A failure id is a hex string.")
        index = fields.get("index", "")
        if not index.isdigit():
            return self.client.failure.find(fid[:12], name)
        step = _CHUNK // 5
        hi = int(index) + 1 + step
        lo = max(0, hi - SCAN_LIMIT)
        for top in range(hi, lo, -step):  # small reads: a record read for a page may be 6 KB
            start = max(lo, top - step)
            for f in reversed(read(self.client.failure, name, start, top - start)):
                if f.id.startswith(fid[:12]):
                    return whole(self.client.failure, f)
        return None

    def _one(self, req: falcon.Request, resp: falcon.Response, action: str, name: str,
             fields: dict[str, str]) -> None:
        backend = self.client.failure
        failure = self._find(name, fields)
        if failure is None:
            raise falcon.HTTPNotFound(title="Failure not found",
                                      description="It was removed or changed; reload the page.")
        result: dict[str, Any]
        if action == "retry":
            stamp = backend.requeue(failure)
            if stamp is None:
                raise falcon.HTTPNotFound(title="Failure not found",
                                          description="It was removed before it could be retried.")
            result = {"retried_at": stamp, "queue": failure.queue}
        else:
            result = {"removed": backend.remove(failure)}
        if req.get_header("X-Requested-With") == "XMLHttpRequest":
            self.out.json(resp, result)

    def _matching(self, cls: str | None, queue: str | None) -> Callable[[Failure], bool]:
        """Return the test a record passes when it is shown under these filters."""
        return lambda f: views.record_matches(f, cls, queue)

    def _retry_all(self, list_name: str, cls: str | None, queue: str | None) -> None:
        backend = self.client.failure
        if not (cls or queue or list_name):
            backend.requeue_all()
            return
        backend.requeue_matching(self._matching(cls, queue), self._list(list_name, queue))

    def _clear(self, list_name: str, cls: str | None, queue: str | None) -> None:
        backend = self.client.failure
        if not (cls or queue):
            backend.clear(list_name or None)
            return
        backend.remove_matching(self._matching(cls, queue), self._list(list_name, queue))


def whole(backend: FailureBackend, f: Record) -> Failure | None:
    """Return the full record of what a page read (reading it again if it was cut)."""
    if isinstance(f, Failure):
        return f
    if f.piece.whole:
        return Failure(f.list_name, f.index, f.piece.head)
    again = backend.all(f.index, 1, f.list_name)
    return again[0] if again and views.CutFailure(
        f.list_name, f.index, _cut_of(again[0].raw, f.piece)).id == f.id else None


def _cut_of(raw: bytes, like: Cut) -> Cut:
    """Cut ``raw`` as Redis cut the record ``like`` was read from."""
    return Cut(len(raw), raw[:len(like.head)], raw[len(raw) - len(like.tail):] if like.tail else b"")
