"""The Sentry failure backend: alone, with MultipleFailure, in a forked child; no password leaks."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

sentry_sdk = pytest.importorskip("sentry_sdk")

from sentry_sdk.envelope import Envelope  # noqa: E402
from sentry_sdk.transport import Transport  # noqa: E402

from resque import Registry, Resque  # noqa: E402
from resque.contrib.sentry import SentryFailure  # noqa: E402
from resque.failure import MultipleFailure, RedisFailure  # noqa: E402
from resque.worker import Worker, WorkerOptions  # noqa: E402
from tests.helpers import RedisServer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Zq7-sentry/Secret@pw"  # with characters a URL must encode
QUOTED = "Zq7-sentry%2FSecret%40pw"


class CapturingTransport(Transport):
    """Keep envelopes in memory (the SDK's documented test seam)."""

    def __init__(self, options: Any = None):
        super().__init__(options)
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)


class Leaky:
    queue = "reported"

    @staticmethod
    def perform(url: str) -> None:
        connection_url = url  # noqa: F841 - a local variable Sentry would show
        raise ConnectionError(f"could not reach {url}")


@pytest.fixture(scope="module")
def locked() -> Iterator[RedisServer]:
    server = RedisServer("--requirepass", PASSWORD, aof=False, tcp=True, password=PASSWORD)
    server.start()
    yield server
    server.cleanup()


@pytest.fixture
def url(locked: RedisServer) -> str:
    locked.raw().flushall()
    return f"redis://:{QUOTED}@127.0.0.1:{locked.port}/0"


@pytest.fixture
def transport() -> Iterator[CapturingTransport]:
    sink = CapturingTransport()
    sentry_sdk.init(dsn="http://public@sentry.invalid/1", transport=sink)
    yield sink
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # no DSN: reporting off again


def events(sink: CapturingTransport) -> list[dict[str, Any]]:
    return [item.payload.json for env in sink.envelopes for item in env.items
            if item.type == "event" and item.payload.json]


def raw_bytes(sink: CapturingTransport) -> bytes:
    return b"".join(env.serialize() for env in sink.envelopes)


def drain(client: Resque, fork: bool = False) -> int:
    return Worker(["reported"], client, WorkerOptions(interval=0, fork=fork)).work()


def test_a_failure_is_reported_with_its_exception_and_job(transport, url):
    registry = Registry()
    registry.register(Leaky, name="Leaky")
    client = Resque(url, registry=registry, failure=SentryFailure)
    client.enqueue(Leaky, url)
    assert drain(client) == 1
    (event,) = events(transport)
    (exc,) = event["exception"]["values"]
    assert exc["type"] == "ConnectionError" and "could not reach" in exc["value"]
    assert event["tags"]["resque.queue"] == "reported"
    assert event["tags"]["resque.job_class"] == "Leaky"
    assert event["tags"]["resque.worker"].endswith(":reported")
    assert event["contexts"]["resque"]["args"] == [url.replace(f":{QUOTED}@", "[Filtered]@")]
    assert any(f.get("function") == "perform" for f in exc["stacktrace"]["frames"])
    assert client.failure.count() == 0  # alone, it keeps no records


def test_the_redis_password_never_leaves_the_process(transport, url):
    registry = Registry()
    registry.register(Leaky, name="Leaky")
    client = Resque(url, registry=registry, failure=SentryFailure)
    client.enqueue(Leaky, f"{url} and {PASSWORD} in plain")
    drain(client)
    sent = raw_bytes(transport)
    assert b"could not reach" in sent and b"[Filtered]" in sent
    for secret in (PASSWORD, QUOTED):
        assert secret.encode() not in sent
        assert json.dumps(secret)[1:-1].encode() not in sent  # nor JSON-escaped


def test_with_multiple_failure_the_record_is_kept_and_reported(transport, url):
    registry = Registry()
    registry.register(Leaky, name="Leaky")
    client = Resque(url, registry=registry, failure=lambda store: MultipleFailure(
        [RedisFailure(store), SentryFailure(store)]))
    client.enqueue(Leaky, "x")
    drain(client)
    assert client.failure.count() == 1
    assert json.loads(client.failure.all(0, 1)[0].raw)["exception"] == "ConnectionError"
    assert len(events(transport)) == 1


def test_a_record_without_its_exception_is_reported_from_the_record(transport, url):
    backend = SentryFailure()
    backend.save(json.dumps({"failed_at": "2024/05/01 12:34:56 UTC",
                             "payload": {"class": "Archive", "args": [44]},
                             "exception": "Resque::DirtyExit", "error": "killed",
                             "backtrace": [], "worker": "ruby:1:q", "queue": "q"}).encode(), "q")
    (event,) = events(transport)
    assert event["exception"]["values"][0] == {"type": "Resque::DirtyExit", "value": "killed"}
    assert event["tags"]["resque.job_class"] == "Archive"


def test_a_forked_childs_failure_reaches_sentry_with_no_password(url, tmp_path):
    envelopes = tmp_path / "envelopes.bin"
    env = dict(os.environ, PYTHONPATH=str(ROOT), RESQUE_TEST_ENVELOPES=str(envelopes))
    for var in ("QUEUE", "RESQUE_REDIS_URL", "FAILURE_BACKEND"):
        env.pop(var, None)
    client = Resque(url, registry=Registry())
    client.enqueue_to("reported", "Reported", url)
    subprocess.run([sys.executable, "-m", "resque", "--redis", url, "work", "-A", "tests.sentry_app",
                    "--queues", "reported", "--interval", "0"],
                   cwd=ROOT, env=env, check=True, timeout=60, capture_output=True)
    sent = envelopes.read_bytes()
    assert b'"type":"ConnectionError"' in sent and b"could not reach" in sent
    assert b"sys.argv" in sent  # the SDK sent the command line, scrubbed
    assert PASSWORD.encode() not in sent and QUOTED.encode() not in sent
    assert client.failure.count() == 1  # MultipleFailure kept the record too
