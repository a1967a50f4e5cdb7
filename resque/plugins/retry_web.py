"""The Retry tab of the web UI (the ``resque.web`` entry point ``retry``).

Like resque-retry's tab: the retries waiting in the delayed queue, each
with its job, attempt count, next run and last error (kept by the
suppression backend), and a Remove button that cancels the retry
(its delayed copies, its counter and its last failure).
"""
from __future__ import annotations

import time
from typing import Any

import falcon

from ..web.extend import WebExtension
from ..web.render import Page, form, redirect
from .waiting import cancel, waiting_retries

SHOWN = 100  # waiting retries listed at the most


def _fmt(t: float | None) -> str:
    return "" if t is None else time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(t))


class Retries(Page):
    """Retries waiting for their time; remove one."""

    template = "retry.html"
    tab = "retry"

    def data(self, req: falcon.Request, **params: Any) -> dict[str, Any]:
        found = waiting_retries(self.client, SHOWN)
        rows = [dict(w.to_dict(), at_text=_fmt(w.at)) for w in found["retries"]]
        removed = req.get_param("removed")
        return {"retries": rows, "read": found["read"], "complete": found["complete"],
                "limit": SHOWN, "removed": removed if removed and removed.isdigit() else None}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        fields = form(req)
        if fields.get("action") != "remove" or not fields.get("item"):
            raise falcon.HTTPBadRequest(title="Unknown action", description="Use action=remove with an item.")
        n = cancel(self.client, fields["item"].encode("utf-8"))
        redirect(req, "/retry", {"removed": n})


def install(ext: WebExtension) -> None:
    """Add the Retry tab (the ``resque.web`` entry point)."""
    ext.add_templates("resque.plugins")
    ext.add_page("/retry", Retries(ext.client, ext.out))
    ext.add_tab("retry", "Retry")
