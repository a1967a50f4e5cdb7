"""The Schedule and Delayed tabs of the web UI (the ``resque.web`` entry point).

Every page reads a bounded window (20 seconds, 20 items, 200 search
hits); every change is a POST with the app's CSRF token, answered 303.
"""
from __future__ import annotations

import os
import time
from typing import Any

import falcon

from ..client import Resque
from ..errors import ResqueError
from ..web.extend import WebExtension
from ..web.render import Page, Renderer, form, path_quote, redirect, start_param
from ..web.views import pager
from . import delayed as d
from . import views
from .fire import enqueue_entry
from .mover import Mover
from .schedule import Entry, fetch_schedule, load_file, remove_schedule

PER_PAGE = views.PAGE
SCHEDULE_ENV = "RESQUE_SCHEDULE"


def _fmt(t: float | None) -> str:
    return "" if t is None else time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(t))


def _worker() -> str:
    return "web:scheduler"


class Schedule(Page):
    """Every recurring entry with its next and last run; queue now, delete."""

    template = "scheduler_schedule.html"
    tab = "schedule"

    def data(self, req: falcon.Request, **params: Any) -> dict[str, Any]:
        static, error = _static()
        env = os.environ.get("RAILS_ENV") or None
        rows = views.schedule_rows(self.client, static, env)
        for row in rows:
            row["next_text"] = _fmt(row.get("next_run"))
            row["fired_text"] = _fmt(row.get("last_fired"))
        return {"entries": rows, "status": _status(self.client), "server_time": _fmt(time.time()),
                "file": os.environ.get(SCHEDULE_ENV), "file_error": error, "env": env,
                "queued": req.get_param("queued"), "deleted": req.get_param("deleted")}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        fields = form(req)
        name, action = fields.get("name", ""), fields.get("action")
        config = fetch_schedule(self.client, name)
        entry = Entry.parse(name, config) if config is not None else _static()[0].get(name)
        if entry is None:
            raise falcon.HTTPNotFound(title="No such entry",
                                      description=f"No schedule entry named {name!r}.")
        if action == "enqueue":
            enqueue_entry(self.client, entry)
            redirect(req, "/schedule", {"queued": name})
        if action == "delete" and config is not None:
            remove_schedule(self.client, name)
            redirect(req, "/schedule", {"deleted": name})
        raise falcon.HTTPBadRequest(title="Unknown action",
                                    description="Use action=enqueue, or delete for a dynamic entry.")


def _static() -> tuple[dict[str, Entry], str]:
    """Return the static entries of the file ``RESQUE_SCHEDULE`` names (as the scheduler)."""
    path = os.environ.get(SCHEDULE_ENV)
    if not path:
        return {}, ""
    try:
        return load_file(path), ""
    except ResqueError as exc:
        return {}, str(exc)


class Delayed(Page):
    """Delayed seconds with counts, a page at a time, and a search."""

    template = "scheduler_delayed.html"
    tab = "delayed"

    def data(self, req: falcon.Request, **params: Any) -> dict[str, Any]:
        start = start_param(req)
        page = views.delayed_page(self.client, start, PER_PAGE)
        for row in page["seconds"]:
            row["at"] = _fmt(row["timestamp"])
        term = (req.get_param("search") or "").strip()
        found = views.search_delayed(self.client, term) if term else None
        for hit in found["hits"] if found else []:
            hit["at"] = _fmt(hit["timestamp"])
        return {"seconds": page["seconds"], "total": page["total"], "notice": _notice(req),
                "page": pager(start, PER_PAGE, page["total"], len(page["seconds"])),
                "search": term, "found": found, "status": _status(self.client)}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        fields = form(req)
        action = fields.get("action")
        if action == "clear":
            n = d.reset_delayed_queue(self.client)
            redirect(req, "/delayed", {"cleared": n})
        if action == "queue_now":
            member = fields.get("timestamp", "")
            moved = Mover(self.client, worker=_worker()).move_one(member) if member else False
            redirect(req, "/delayed", {"queued": 1 if moved else 0})
        if action in ("enqueue_item", "delete_item"):
            raw = fields.get("item", "").encode("utf-8")
            n = d.remove_delayed_raw(self.client, raw)
            if action == "enqueue_item" and n:
                _enqueue_raw(self.client, raw, n)
            redirect(req, "/delayed", {"search": fields.get("search") or None, "changed": n})
        raise falcon.HTTPBadRequest(title="Unknown action",
                                    description="Use action=clear, queue_now, enqueue_item or delete_item.")


def _notice(req: falcon.Request) -> str:
    for key, text in (("cleared", "Cleared {} delayed jobs."), ("queued", "Queued {} job now."),
                      ("changed", "Changed {} delayed jobs.")):
        value = req.get_param(key)
        if value is not None and value.isdigit():
            return text.format(value)
    return ""


def _enqueue_raw(client: Resque, raw: bytes, copies: int) -> None:
    item = views.item_of(raw)
    spec = d.spec_of(client, item["class"])
    queue = client.registry.queue_for(spec, item["queue"])
    for _ in range(copies):
        client.enqueue_to(queue, spec.target or spec.name, *item["args"])


class DelayedSecond(Page):
    """The jobs of one delayed second, a page at a time."""

    template = "scheduler_second.html"
    tab = "delayed"

    def data(self, req: falcon.Request, timestamp: str = "", **params: Any) -> dict[str, Any]:
        start = start_param(req)
        page = views.second_page(self.client, timestamp, start, PER_PAGE)
        if not page["total"] and not start:
            raise falcon.HTTPNotFound(title="Nothing delayed then",
                                      description=f"No delayed jobs at {timestamp!r}.")
        return dict(page, at=_fmt(page["timestamp"]), quoted=path_quote(timestamp),
                    page=pager(start, PER_PAGE, page["total"], len(page["items"])))

    def on_post(self, req: falcon.Request, resp: falcon.Response, timestamp: str = "") -> None:
        fields = form(req)
        action = fields.get("action")
        raw = fields.get("item", "").encode("utf-8")
        if action == "delete_item":
            d.store_of(self.client).remove_from_bucket(timestamp, raw)
        elif action == "queue_all":
            Mover(self.client, worker=_worker()).move_second(timestamp)
            redirect(req, "/delayed")
        else:
            raise falcon.HTTPBadRequest(title="Unknown action", description="Use delete_item or queue_all.")
        redirect(req, "/delayed/" + path_quote(timestamp))


def _status(client: Resque) -> dict[str, Any]:
    status = views.schedulers(client)
    for s in status["schedulers"]:
        s["seen"] = f"{s['age']:.0f}s ago"
    return status


def install(ext: WebExtension) -> None:
    """Add the Schedule and Delayed tabs (the ``resque.web`` entry point)."""
    out: Renderer = ext.out
    ext.add_templates("resque.scheduler")
    ext.add_page("/schedule", Schedule(ext.client, out))
    ext.add_page("/delayed", Delayed(ext.client, out))
    ext.add_page("/delayed/{timestamp}", DelayedSecond(ext.client, out))
    ext.add_tab("schedule", "Schedule")
    ext.add_tab("delayed", "Delayed")
