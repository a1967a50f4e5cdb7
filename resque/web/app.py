"""Build the Falcon app of the monitoring front end."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterable

import falcon

from .. import extensions
from .._flags import flag
from ..client import Resque
from ..errors import RedisUnavailable, ResqueError
from . import resources as pages
from . import resources_failed, resources_stats
from .extend import WebExtension
from .outage import RedisHealth, add_handlers
from .render import CACHE_CONTROL, Renderer, Site, make_environment
from .security import BasicAuth, Csrf, SecurityHeaders, SigningKey

STATIC = Path(__file__).resolve().with_name("static")


def create_app(client: Resque | None = None, *, user: str | None = None,
               password: str | None = None, redis_url: str | None = None,
               namespace: str | None = None, poll_interval: float = 2.0,
               plugins: "Iterable[Callable[[WebExtension], None]] | None" = None,
               secret: str | None = None, trust_forwarded: bool | None = None,
               ) -> "falcon.App[falcon.Request, falcon.Response]":
    """Return the WSGI app showing ``client``'s queues, workers and failures.

    With no client one is built from ``redis_url``/``namespace``, else from
    ``RESQUE_REDIS_URL``/``REDIS_URL`` and ``RESQUE_NAMESPACE``, else the
    embedded server. ``user``/``password`` (default ``RESQUE_WEB_USER``/
    ``RESQUE_WEB_PASSWORD``) turn on HTTP basic auth. ``plugins`` add
    pages and tabs (default: the ``resque.web`` entry points). ``secret``
    (default ``RESQUE_WEB_SECRET``, else one kept in Redis) signs CSRF
    tokens; ``trust_forwarded`` (default ``RESQUE_WEB_TRUST_FORWARDED``)
    believes a proxy's ``X-Forwarded-Proto``/``X-Forwarded-Host``.
    """
    if client is None:
        client = Resque(redis_url, namespace or os.environ.get("RESQUE_NAMESPACE") or None)
    user = os.environ.get("RESQUE_WEB_USER") if user is None else user
    password = os.environ.get("RESQUE_WEB_PASSWORD") if password is None else password
    health = RedisHealth(client)
    middleware: list[Any] = [SecurityHeaders(), health]
    if user or password:
        middleware.append(BasicAuth(user or "", password or ""))
    if trust_forwarded is None:
        trust_forwarded = flag("RESQUE_WEB_TRUST_FORWARDED")
    key = SigningKey(secret or os.environ.get("RESQUE_WEB_SECRET") or None, client.store.web_secret)
    middleware.append(Csrf(key, trust_forwarded))
    app = falcon.App(middleware=middleware)
    app.req_options.strip_url_path_trailing_slash = True
    app.resp_options.secure_cookies_by_default = False
    out = Renderer(make_environment(), Site(client.namespace, client.redis_id, poll_interval))
    _routes(app, client, out)
    if plugins is None:
        plugins = [install for _, install in extensions.load(extensions.WEB)]
    for install in plugins:
        install(WebExtension(app, client, out))
    _errors(app, out)
    add_handlers(app, health)
    app.add_static_route("/static", STATIC)
    health.check(client)
    return app


def _routes(app: "falcon.App[falcon.Request, falcon.Response]", client: Resque, out: Renderer) -> None:
    both = WebExtension(app, client, out).add_page

    app.add_route("/", pages.Redirect("/overview"))
    both("/overview", pages.Overview(client, out))
    both("/working", pages.Working(client, out))
    both("/working/{worker_id:path}", pages.WorkingOne(client, out))
    both("/queues", pages.Queues(client, out))
    both("/queues/{name:path}", pages.Queue(client, out))
    workers = pages.Workers(client, out)
    both("/workers", workers)
    both("/workers/{worker_id:path}", workers)
    failed = resources_failed.Failed(client, out)
    both("/failed", failed)
    both("/failed/{list_name:path}", failed)
    app.add_route("/stats", pages.Redirect("/stats/resque"))
    both("/stats/resque", resources_stats.StatsResque(client, out))
    both("/stats/redis", resources_stats.StatsRedis(client, out))
    both("/stats/keys", resources_stats.StatsKeys(client, out))
    both("/stats/keys/{key:path}", resources_stats.StatsKey(client, out))
    app.add_route("/stats.txt", resources_stats.StatsText(client, out))
    app.add_route("/metrics", resources_stats.Metrics(client, out))
    app.add_route("/api", resources_stats.ApiIndex(out))


def _wants_json(req: falcon.Request) -> bool:
    return req.path.startswith("/api") or req.client_prefers(
        [falcon.MEDIA_HTML, falcon.MEDIA_JSON]) == falcon.MEDIA_JSON


def _errors(app: "falcon.App[falcon.Request, falcon.Response]", out: Renderer) -> None:
    def serialize(req: falcon.Request, resp: falcon.Response, exc: falcon.HTTPError) -> None:
        resp.set_headers(exc.headers or {})
        resp.cache_control = [CACHE_CONTROL]
        if _wants_json(req):
            out.json(resp, exc.to_dict())
        else:
            resp.content_type = falcon.MEDIA_HTML
            resp.text = out.render_error(req, exc.title or "Error", exc.description)

    def resque_error(req: falcon.Request, resp: falcon.Response, exc: ResqueError,
                     params: dict[str, Any]) -> None:
        if isinstance(exc, RedisUnavailable):
            raise falcon.HTTPServiceUnavailable(title="Redis unavailable", description=str(exc))
        raise falcon.HTTPBadRequest(title=type(exc).__name__, description=str(exc))

    app.set_error_serializer(serialize)
    app.add_error_handler(ResqueError, resque_error)
