"""Answer Redis outages and odd data with a page, logging one line per outage."""
from __future__ import annotations

import logging
import threading
from typing import Any

import falcon
import redis

from ..client import Resque

logger = logging.getLogger(__name__)
UNREACHABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


class RedisHealth:
    """Remember whether Redis is down, so an outage is logged once, not per request.

    As middleware it notices the first request that succeeds again and says
    Redis is back; the error handlers below report failures through it.
    """

    def __init__(self, client: Resque):
        self.where = client.redis_id
        self.down = False
        self._lock = threading.Lock()

    def check(self, client: Resque) -> None:
        """Ping Redis once; warn (one line) if it cannot be reached."""
        try:
            client.store.ping()
        except redis.exceptions.RedisError as exc:
            self.failed(exc, at_start=True)

    def failed(self, exc: BaseException, at_start: bool = False) -> None:
        """Log the start of an outage; stay quiet while it lasts."""
        with self._lock:
            if self.down:
                return
            self.down = True
        when = "at start-up" if at_start else "now"
        logger.warning("Redis at %s is unreachable %s (%s: %s); pages answer 503 until it is back",
                       self.where, when, type(exc).__name__, exc)

    def process_response(self, req: falcon.Request, resp: falcon.Response,
                         resource: Any, req_succeeded: bool) -> None:
        if not (self.down and req_succeeded and resource is not None):
            return
        with self._lock:
            was_down, self.down = self.down, False
        if was_down:
            logger.warning("Redis at %s answers again", self.where)


def add_handlers(app: "falcon.App[falcon.Request, falcon.Response]", health: RedisHealth) -> None:
    """Map Redis errors to 503 (unreachable, refused) or 500 (data of the wrong type)."""

    def redis_error(req: falcon.Request, resp: falcon.Response, exc: Exception,
                    params: dict[str, Any]) -> None:
        if isinstance(exc, UNREACHABLE):
            health.failed(exc)
            raise falcon.HTTPServiceUnavailable(title="Redis unavailable",
                                                description=f"{type(exc).__name__}: {exc}")
        if str(exc).startswith("WRONGTYPE"):
            logger.warning("unexpected data in Redis while serving %s: %s", req.path, exc)
            raise falcon.HTTPInternalServerError(
                title="Unexpected data in Redis",
                description=f"A key this page reads holds another kind of value: {exc}")
        logger.warning("Redis refused a command while serving %s: %s: %s",
                       req.path, type(exc).__name__, exc)
        raise falcon.HTTPServiceUnavailable(title="Redis refused the command",
                                            description=f"{type(exc).__name__}: {exc}")

    app.add_error_handler(redis.exceptions.RedisError, redis_error)
