"""Pages for queues, workers and what they are working on."""
from __future__ import annotations

import time
from typing import Any

import falcon

from . import views
from .render import Page, form, path_quote, redirect, start_param


class Redirect:
    """Send a GET to another page under the mount point (``/`` to the overview)."""

    def __init__(self, path: str):
        self.path = path

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        raise falcon.HTTPFound(req.root_path + self.path)


class Overview(Page):
    """Queues with sizes, failure counts and the workers now working."""

    template = "overview.html"
    tab = "overview"
    live = True

    def data(self, req: falcon.Request, **params: Any) -> dict[str, Any]:
        out = views.queues_summary(self.client)
        out.update(views.working_rows(self.client))
        out["pending"] = sum(q["size"] for q in out["queues"])
        out["processed"] = self.client.stat("processed")
        return out


class Working(Page):
    """Every busy worker: queue, job class, args and how long it has run."""

    template = "working.html"
    tab = "working"
    live = True

    def data(self, req: falcon.Request, **params: Any) -> dict[str, Any]:
        return views.working_rows(self.client)


class WorkingOne(Page):
    """The job one worker is running."""

    template = "working_one.html"
    tab = "working"
    live = True

    def data(self, req: falcon.Request, worker_id: str = "", **params: Any) -> dict[str, Any]:
        w = self.client.worker(worker_id, job_bytes=views.JOB_BYTES)
        if w is None:
            raise falcon.HTTPNotFound(title="No such worker",
                                      description=f"Worker {worker_id!r} is not registered.")
        limit = self.client.job_limits([w]).get(w.id)
        return {"worker": views.with_limit(views.worker_row(w, time.time()), limit)}


class Queues(Page):
    """All queues with sizes, and the failure lists."""

    template = "queues.html"
    tab = "queues"
    live = True

    def data(self, req: falcon.Request, **params: Any) -> dict[str, Any]:
        return views.queues_summary(self.client)


class Queue(Page):
    """One queue's pending jobs, a page at a time; POST clears or removes it."""

    template = "queue.html"
    tab = "queues"

    def data(self, req: falcon.Request, name: str = "", **params: Any) -> dict[str, Any]:
        return views.queue_jobs(self.client, name, start_param(req))

    def on_post(self, req: falcon.Request, resp: falcon.Response, name: str = "") -> None:
        action = form(req).get("action")
        if action == "remove":
            self.client.remove_queue(name)
            redirect(req, "/queues")
        elif action == "clear":
            self.client.clear_queue(name)
            redirect(req, "/queues/" + path_quote(name))
        raise falcon.HTTPBadRequest(title="Unknown action",
                                    description="Use action=clear or action=remove.")


class Workers(Page):
    """All workers, the workers of one host, or one worker in detail."""

    template = "workers.html"
    tab = "workers"
    live = True

    def data(self, req: falcon.Request, worker_id: str = "", **params: Any) -> dict[str, Any]:
        now = time.time()
        if worker_id and worker_id != "all" and ":" in worker_id:
            w = self.client.worker(worker_id, job_bytes=views.JOB_BYTES)
            if w is None:
                raise falcon.HTTPNotFound(title="Worker doesn't exist",
                                          description=f"No registered worker {worker_id!r}.")
            return {"worker": views.worker_row(w, now)}
        rows = [views.worker_row(w, now)
                for w in self.client.workers(details=True, job_bytes=views.JOB_BYTES)]
        host = worker_id if worker_id and worker_id != "all" else None
        shown = [w for w in rows if host is None or w["host"] == host]
        if host is not None and not shown:
            raise falcon.HTTPNotFound(title="Worker doesn't exist",
                                      description=f"No worker or host named {worker_id!r}.")
        return {"workers": shown, "hosts": views.hosts(rows), "host": host,
                "total": len(rows), "worker": None}
