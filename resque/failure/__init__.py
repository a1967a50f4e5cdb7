"""Failure backends: where failed jobs are recorded, listed, retried and removed."""
from __future__ import annotations

import os

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
    """Choose a backend by ``FAILURE_BACKEND``: ``redis`` (default) or ``redis_multi_queue``."""
    name = os.environ.get("FAILURE_BACKEND", "redis").strip() or "redis"
    if name == "redis":
        return RedisFailure(store)
    if name == "redis_multi_queue":
        return RedisMultiQueueFailure(store)
    raise ConfigurationError(f"FAILURE_BACKEND={name!r}: use 'redis' or 'redis_multi_queue'")
