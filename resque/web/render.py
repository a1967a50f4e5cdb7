"""Render pages (whole, or only their main part for live mode) and JSON."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import falcon
from jinja2 import BaseLoader, ChoiceLoader, Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from ..client import Resque
from ..keys import __version__
from ..replies import Corrupt
from .history_views import HistoryViews
from .views import arg_text, filesize

CACHE_CONTROL = "max-age=0, private, must-revalidate"
TABS = (("overview", "Overview"), ("working", "Working"), ("failed", "Failed"),
        ("queues", "Queues"), ("workers", "Workers"), ("stats", "Stats"))


def path_quote(value: Any) -> str:
    """Quote a Redis value for use as one URL path segment."""
    return quote(str(value), safe="")


def query(params: dict[str, Any]) -> str:
    """Build ``?a=b`` from the non-empty params (empty string if none)."""
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return "?" + urlencode(kept) if kept else ""


def shown(value: Any) -> Any:
    """Mark a value that Redis holds in the wrong shape; pass others through."""
    if not isinstance(value, Corrupt):
        return value
    return Markup('<span class="corrupt" title="not what Resque writes here">corrupt: ') \
        + escape(repr(str(value))) + Markup("</span>")


def make_environment() -> Environment:
    """Create the Jinja2 environment of the app (autoescaping HTML)."""
    env = Environment(loader=PackageLoader("resque.web"), autoescape=select_autoescape(),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["pq"] = path_quote
    env.filters["arg"] = arg_text
    env.filters["shown"] = shown
    env.filters["filesize"] = filesize
    env.globals["query"] = query
    return env


@dataclass(frozen=True)
class Site:
    """What every page shows about the connection."""

    namespace: str
    redis_id: str
    poll_interval: float


class Renderer:
    """Turn plain data into HTML pages, live fragments and JSON."""

    def __init__(self, env: Environment, site: Site):
        self.env = env
        self.site = site
        self.tabs: list[tuple[str, str]] = list(TABS)

    def add_loader(self, loader: BaseLoader) -> None:
        """Let templates also come from ``loader`` (a plugin's), after the app's own."""
        current = self.env.loader
        loaders = list(current.loaders) if isinstance(current, ChoiceLoader) else [current]
        self.env.loader = ChoiceLoader([*(x for x in loaders if x is not None), loader])

    def context(self, req: falcon.Request, tab: str, live: bool) -> dict[str, Any]:
        return {
            "root": req.root_path, "csrf": getattr(req.context, "csrf", ""),
            "tab": tab, "tabs": self.tabs, "live": live, "version": __version__,
            "namespace": self.site.namespace, "redis_id": self.site.redis_id,
            "poll_ms": int(self.site.poll_interval * 1000),
        }

    def page(self, req: falcon.Request, resp: falcon.Response, template: str,
             data: dict[str, Any], tab: str = "", live: bool = False) -> None:
        """Render ``template`` in the layout, or alone for ``?partial=1``."""
        ctx = self.context(req, tab, live)
        ctx.update(data)
        body = self.env.get_template(template).render(ctx)
        if not req.get_param_as_bool("partial", default=False):
            body = self.env.get_template("layout.html").render(ctx, content=Markup(body))
        resp.content_type = falcon.MEDIA_HTML
        resp.cache_control = [CACHE_CONTROL]
        resp.text = body

    def render_error(self, req: falcon.Request, title: str, description: str | None) -> str:
        """Render an error page body."""
        ctx = self.context(req, "", False)
        ctx.update(title=title, description=description)
        body = self.env.get_template("error.html").render(ctx)
        return self.env.get_template("layout.html").render(ctx, content=Markup(body))

    @staticmethod
    def json(resp: falcon.Response, data: Any) -> None:
        """Answer with ``data`` as JSON."""
        resp.content_type = falcon.MEDIA_JSON
        resp.cache_control = [CACHE_CONTROL]
        resp.text = json.dumps(data, ensure_ascii=False, default=str)

    @staticmethod
    def text(resp: falcon.Response, body: str, content_type: str) -> None:
        resp.content_type = content_type
        resp.cache_control = [CACHE_CONTROL]
        resp.text = body


class Page:
    """A page with an HTML view (``on_get``) and a JSON twin (``on_get_api``).

    Subclasses set ``template`` and ``tab`` and implement ``data``; pages
    with charts also implement ``charts`` (HTML only: the JSON twin of a
    chart is ``/api/history/<series>``).
    """

    template = ""
    tab = ""
    live = False

    def __init__(self, client: Resque, out: Renderer, history: HistoryViews | None = None):
        self.client = client
        self.out = out
        self.history = history

    def data(self, req: falcon.Request, **params: Any) -> dict[str, Any]:
        raise NotImplementedError

    def charts(self, req: falcon.Request, history: HistoryViews) -> dict[str, Any]:
        """Return the page's chart layouts by template name (none by default)."""
        return {}

    def on_get(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        data = self.data(req, **params)
        if self.history is not None:
            data.update(self.charts(req, self.history))
        self.out.page(req, resp, self.template, data, self.tab, self.live)

    def on_get_api(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        self.out.json(resp, self.data(req, **params))


def start_param(req: falcon.Request) -> int:
    """Return the ``start`` query parameter (a non-negative offset)."""
    return max(0, req.get_param_as_int("start", default=0) or 0)


def redirect(req: falcon.Request, path: str, params: dict[str, Any] | None = None) -> None:
    """Answer a change with 303 See Other to ``path`` under the mount point."""
    raise falcon.HTTPSeeOther(req.root_path + path + query(params or {}))


def form(req: falcon.Request) -> dict[str, str]:
    """Return the posted form fields (single values)."""
    media = getattr(req.context, "form", None)
    if media is None:
        return {}
    return {k: (v[-1] if isinstance(v, list) else v) for k, v in media.items()}
