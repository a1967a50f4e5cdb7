"""An asyncio client for resque: enqueue from FastAPI, Starlette, aiohttp or Django views.

``resque.aio.Resque`` speaks the same bytes as ``resque.Resque`` on
``redis.asyncio``; jobs it enqueues are run by ``resque work`` as usual.
"""
from __future__ import annotations

from .client import Resque
from .connection import AsyncConnection, connect
from .failures import AsyncFailures
from .store import AsyncStore

__all__ = ["AsyncConnection", "AsyncFailures", "AsyncStore", "Resque", "connect"]
