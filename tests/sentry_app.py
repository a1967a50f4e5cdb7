"""An app module for ``resque work -A tests.sentry_app``: Sentry events written to a file.

``RESQUE_TEST_ENVELOPES`` names the file; each envelope is appended as
its serialized bytes followed by a line of ``=``, so a test can read what
a forked child sent.
"""
from __future__ import annotations

import os
from typing import Any

import sentry_sdk
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from resque.client import job

SEPARATOR = b"\n=====\n"


class FileTransport(Transport):
    """Write envelopes to a file instead of sending them."""

    def __init__(self, options: Any = None):
        super().__init__(options)
        self.path = os.environ["RESQUE_TEST_ENVELOPES"]

    def capture_envelope(self, envelope: Envelope) -> None:
        with open(self.path, "ab") as f:
            f.write(envelope.serialize() + SEPARATOR)


sentry_sdk.init(dsn="http://public@sentry.invalid/1", transport=FileTransport)


@job(queue="reported", name="Reported")
class Reported:
    @staticmethod
    def perform(url: str) -> None:
        connection_url = url  # a local variable Sentry would show
        raise ConnectionError(f"could not reach {connection_url}")


def setup_resque_worker(worker: Any) -> None:
    """Keep failures in Redis and report them to Sentry too."""
    from resque.contrib.sentry import SentryFailure
    from resque.failure import MultipleFailure, RedisFailure

    worker.client.failure = MultipleFailure([RedisFailure(worker.store), SentryFailure(worker.store)])
