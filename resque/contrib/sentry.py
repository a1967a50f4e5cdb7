"""A failure backend that reports job failures to Sentry.

Install the ``sentry`` extra, call ``sentry_sdk.init(dsn=...)`` in the app
module your workers load, and use the backend alone or beside the Redis
list (so the web UI still shows failures)::

    from resque.contrib.sentry import SentryFailure
    from resque.failure import MultipleFailure, RedisFailure

    client = resque.Resque(url, failure=lambda store: MultipleFailure(
        [RedisFailure(store), SentryFailure(store)]))

Each failure becomes one Sentry event: the exception itself when the
worker has it (stack, frames), else one rebuilt from the failure record
(a child killed by a signal, a record saved by another backend). Tags:
``resque.queue``, ``resque.job_class``, ``resque.worker``; a ``resque``
context holds the arguments. Before anything leaves the process, every
string in the event is scrubbed of the Redis password and user name
(plain and URL-encoded) and of the credentials in any Redis URL, wherever
they appear (exception messages, local variables, ``sys.argv``,
breadcrumbs): the scrubber is added to Sentry's global scope, so it covers
every event the process sends. The worker's own "job failed" log lines are
kept out of Sentry's logging integration (``ignore_worker_logs``), since
this backend reports those failures already. A forked child flushes the
event before it exits.
"""
from __future__ import annotations

import logging
import os
import re
from typing import Any, Iterable
from urllib.parse import quote

import sentry_sdk
from sentry_sdk.integrations.logging import ignore_logger

from .._compat import loads
from ..failure.base import FailureBackend
from ..payload import job_args, job_class
from ..store import Store

logger = logging.getLogger(__name__)

FILTERED = "[Filtered]"
_URL_USERINFO = re.compile(r"\b((?:rediss?|unix)://)[^\s/'\"]*@")


def _secrets_of(store: Store | None, extra: Iterable[str]) -> list[str]:
    found = [s for s in extra if s]
    if store is not None:
        kwargs = getattr(store.redis.connection_pool, "connection_kwargs", {})
        password, user = kwargs.get("password"), kwargs.get("username")
        if isinstance(password, str) and password:
            found.append(password)
        if isinstance(user, str) and user not in ("", "default"):  # ACL's default user is no secret
            found.append(user)
    variants = {v for s in found for v in (s, quote(s, safe=""), quote(s))}
    return sorted(variants, key=len, reverse=True)


class Scrubber:
    """Replace secrets and Redis URL credentials in every string of an event."""

    def __init__(self, secrets: list[str]):
        self.secrets = secrets

    def text(self, value: str) -> str:
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, FILTERED)
        return _URL_USERINFO.sub(lambda m: m.group(1) + FILTERED + "@", value)

    def __call__(self, value: Any, hint: Any = None) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self(k): self(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self(v) for v in value)
        return value


class SentryFailure(FailureBackend):
    """Send each failure to Sentry; keep no records (reads return nothing)."""

    def __init__(self, store: Store | None = None, *, secrets: Iterable[str] = (),
                 send_args: bool = True, flush_timeout: float = 2.0,
                 ignore_worker_logs: bool = True):
        self.scrub = Scrubber(_secrets_of(store, secrets))
        self.send_args = send_args
        self.flush_timeout = flush_timeout
        self.pid = os.getpid()
        # Every event of this process, not only ours: a log line or another
        # integration may carry the URL too.
        sentry_sdk.get_global_scope().add_event_processor(self.scrub)
        if ignore_worker_logs:  # this backend reports failures; their log lines would repeat them
            ignore_logger("resque.worker")
        if not sentry_sdk.is_initialized():
            logger.warning("SentryFailure: sentry_sdk.init() has not been called; "
                           "failures are not reported until it is")

    def report(self, exc: BaseException, record: bytes, queue: str) -> None:
        """Capture ``exc`` itself, with the record's job details."""
        self._capture(_fields(record), exc)

    def save(self, record: bytes, queue: str) -> None:
        """Capture an event rebuilt from a failure record alone."""
        self._capture(_fields(record), None)

    def _capture(self, fields: dict[str, Any], exc: BaseException | None) -> None:
        payload = fields.get("payload")
        with sentry_sdk.new_scope() as scope:
            scope.set_tag("resque.queue", str(fields.get("queue") or ""))
            scope.set_tag("resque.job_class", job_class(payload) or "(unknown)")
            scope.set_tag("resque.worker", str(fields.get("worker") or ""))
            context: dict[str, Any] = {"queue": fields.get("queue"), "class": job_class(payload),
                                       "failed_at": fields.get("failed_at")}
            if self.send_args:
                context["args"] = job_args(payload)
            scope.set_context("resque", context)
            if exc is not None:
                sentry_sdk.capture_exception(exc)
            else:
                scope.set_extra("backtrace", fields.get("backtrace"))
                sentry_sdk.capture_event({
                    "level": "error",
                    "exception": {"values": [{"type": str(fields.get("exception") or "Error"),
                                              "value": str(fields.get("error") or "")}]}})
        if os.getpid() != self.pid:
            sentry_sdk.flush(self.flush_timeout)  # a forked child leaves by os._exit


def _fields(record: bytes) -> dict[str, Any]:
    try:
        value = loads(record)
    except ValueError:
        return {"error": record.decode("utf-8", "replace")}
    return value if isinstance(value, dict) else {}
