"""The pytest plugin of resque (entry point ``resque``): fixtures, nothing autouse.

Fixtures:

- ``resque_redis``: the URL of a Redis private to this test session;
- ``resque_client``: a ``Resque`` on it, emptied before each test and set
  as the default client (``resque.enqueue`` and ``job.enqueue`` use it);
- ``resque_inline``: the same, in inline mode: enqueueing runs the job at
  once and raises its error (RQ's ``is_async=False``, Sidekiq's inline);
- ``resque_drain``: ``drain(*queues)`` runs the queued jobs in the test's
  process and raises the first failure (Sidekiq's ``drain``).
"""
from __future__ import annotations

import shutil
import tempfile
from typing import Callable, Iterator

import pytest

from .. import client as client_module
from ..client import Resque, set_client
from .drain import drain
from .server import IsolatedRedis


@pytest.fixture(scope="session")
def resque_redis() -> Iterator[str]:
    """Return the URL of a Redis server private to this test session."""
    data = tempfile.mkdtemp(prefix="resque-pytest-")  # short: a socket path has ~100 bytes
    server = IsolatedRedis(data)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)


def _default_client(client: Resque) -> Iterator[Resque]:
    previous = client_module._default
    client.redis.flushdb()
    set_client(client)
    try:
        yield client
    finally:
        set_client(previous)
        client.redis.close()


@pytest.fixture
def resque_client(resque_redis: str) -> Iterator[Resque]:
    """Return an emptied client on the session's Redis, set as the default client."""
    yield from _default_client(Resque(resque_redis))


@pytest.fixture
def resque_inline(resque_redis: str) -> Iterator[Resque]:
    """Return a default client that runs each job as it is enqueued."""
    yield from _default_client(Resque(resque_redis, inline=True))


@pytest.fixture
def resque_drain(resque_client: Resque) -> Callable[..., int]:
    """Return ``drain(*queues)``: run queued jobs here, raising the first failure."""
    return lambda *queues: drain(resque_client, queues or None)
