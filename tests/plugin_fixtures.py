"""The fixture of the plugin tests: the default client runs ``tests.retry_jobs``."""
from __future__ import annotations

import signal
from typing import Any, Iterator

import pytest

import resque
from resque import Resque
from tests import retry_jobs as jobs

SIGNALS = (signal.SIGQUIT, signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2,
           signal.SIGCONT, signal.SIGCHLD, signal.SIGALRM)


@pytest.fixture
def rc(r: Any, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Resque]:
    """The default client on the flushed test Redis; signal handlers put back after."""
    monkeypatch.setenv("RESQUE_REDIS_URL", redis_url)
    monkeypatch.setattr(jobs, "_conn", None)
    client = Resque(r, registry=jobs.REGISTRY)
    resque.set_client(client)
    saved = {s: signal.getsignal(s) for s in SIGNALS}
    yield client
    resque.set_client(None)
    for s, h in saved.items():
        signal.signal(s, h)
