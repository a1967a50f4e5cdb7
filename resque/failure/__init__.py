"""Failure backends: where failed jobs are recorded, listed, retried and removed."""
from __future__ import annotations

import os

from .. import extensions
from ..errors import ConfigurationError
from ..store import Store
from .base import Failure, FailureBackend, build_record
from .multiple import MultipleFailure
from .redis import RedisFailure, RedisMultiQueueFailure

__all__ = [
    "Failure", "FailureBackend", "MultipleFailure", "RedisFailure",
    "RedisMultiQueueFailure", "backend_from_env", "build_record",
]


def backend_from_env(store: Store) -> FailureBackend:
    """Choose a backend by ``FAILURE_BACKEND``: ``redis`` (default), ``redis_multi_queue``,

    or the name of a ``resque.failure_backends`` entry point (a plugin's
    callable taking the store and returning a backend).
    """
    name = os.environ.get("FAILURE_BACKEND", "redis").strip() or "redis"
    if name == "redis":
        return RedisFailure(store)
    if name == "redis_multi_queue":
        return RedisMultiQueueFailure(store)
    plugins = dict(extensions.load(extensions.FAILURE_BACKENDS))
    if name in plugins:
        backend = plugins[name](store)
        if isinstance(backend, FailureBackend):
            return backend
        raise ConfigurationError(f"FAILURE_BACKEND={name!r}: the plugin did not build a failure backend")
    known = ", ".join(repr(n) for n in ["redis", "redis_multi_queue", *sorted(plugins)])
    raise ConfigurationError(f"FAILURE_BACKEND={name!r}: use one of {known}")
