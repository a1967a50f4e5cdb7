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
from typing import Any, Iterator

import falcon

from ..failure import Failure, FailureBackend
from ..keys import failed_list_name
from . import views
from .render import Page, form, path_quote, redirect, start_param

CLASS_COUNT_LIMIT = 5000
_CHUNK = 500
_RUBY_GET_ACTION = re.compile(r"^(?:[^/]+/)?(?:requeue|remove)/(?:\d+|all)$")


def scan(backend: FailureBackend, name: str, order: str) -> Iterator[Failure]:
    """Yield every record of a list in chunks, newest first unless ``asc``."""
    total = backend.count(name)
    if order == "asc":
        for lo in range(0, total, _CHUNK):
            yield from backend.all(lo, _CHUNK, name)
        return
    hi = total
    while hi > 0:
        lo = max(0, hi - _CHUNK)
        yield from reversed(backend.all(lo, hi - lo, name))
        hi = lo


def window(backend: FailureBackend, name: str, start: int, per_page: int,
           order: str) -> tuple[list[Failure], int]:
    """Return one page of a list (reading only that page) and the list size."""
    total = backend.count(name)
    if order == "asc":
        return (backend.all(start, per_page, name) if start < total else []), total
    hi = total - start
    lo = max(0, hi - per_page)
    return (list(reversed(backend.all(lo, hi - lo, name))) if hi > 0 else []), total


def filtered(backend: FailureBackend, name: str, start: int, per_page: int, order: str,
             class_name: str | None, queue: str | None,
             now: float) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Return one page of the records passing the filters, scanning no further."""
    rows: list[dict[str, Any]] = []
    skipped, more = 0, False
    for f in scan(backend, name, order):
        row = views.failure_row(f, now)
        if not views.matches(row, class_name, queue):
            continue
        if skipped < start:
            skipped += 1
        elif len(rows) == per_page:
            more = True
            break
        else:
            rows.append(row)
    total = None if more else skipped + len(rows)
    return rows, views.pager(start, per_page, total, len(rows), more)


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

    def _params(self, req: falcon.Request) -> dict[str, Any]:
        order = req.get_param("order") or "desc"
        return {
            "start": start_param(req), "order": "asc" if order == "asc" else "desc",
            "class": req.get_param("class") or None, "queue": req.get_param("queue") or None,
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
        per_page = views.PER_PAGE
        if p["class"] or p["queue"]:
            rows, page = filtered(backend, name, p["start"], per_page, p["order"],
                                  p["class"], p["queue"], now)
        else:
            items, total = window(backend, name, p["start"], per_page, p["order"])
            rows = [views.failure_row(f, now) for f in items]
            page = views.pager(p["start"], per_page, total, len(rows))
        registered = set(self.client.store.worker_ids()) if rows else set()
        for row in rows:
            row["worker_registered"] = row["worker"] in registered
        return {"failures": rows, "page": page, "list_count": backend.count(name)}

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
        fid = fields.get("id", "")
        if not re.fullmatch(r"[0-9a-f]{6,40}", fid):
            raise falcon.HTTPBadRequest(title="Bad failure id",
                                        description="A failure id is a hex string.")
        index = fields.get("index", "")
        if index.isdigit():
            got = self.client.failure.all(int(index), 1, name)
            if got and got[0].id.startswith(fid[:12]):
                return got[0]
        return self.client.failure.find(fid[:12], name)

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

    def _matching(self, list_name: str, cls: str | None, queue: str | None) -> list[Failure]:
        """Return the records of a list that pass the filters, highest index first."""
        name = self._list(list_name, queue)
        now = time.time()
        found = [f for f in scan(self.client.failure, name, "desc")
                 if views.matches(views.failure_row(f, now), cls, queue)]
        return sorted(found, key=lambda f: -f.index)

    def _retry_all(self, list_name: str, cls: str | None, queue: str | None) -> None:
        backend = self.client.failure
        if not (cls or queue or list_name):
            backend.requeue_all()
            return
        for f in reversed(self._matching(list_name, cls, queue)):
            backend.requeue(f)

    def _clear(self, list_name: str, cls: str | None, queue: str | None) -> None:
        backend = self.client.failure
        if not (cls or queue):
            backend.clear(list_name or None)
            return
        for f in self._matching(list_name, cls, queue):
            backend.remove(f)

