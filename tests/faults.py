"""A Redis connection that drops at the Nth command: real Redis, injected faults.

``FaultPlan.arm(n, mode, outage)`` makes the n-th command sent through any
``FaultyConnection`` fail with ``redis.ConnectionError``: in ``"before"``
mode it is never sent; in ``"after"`` mode Redis runs it and its reply is
lost. With ``outage`` every later command fails too, as while Redis is
unreachable, until ``heal()``; without, the next command goes through on
a new connection, as after one dropped connection. Pipelines and scripts
count as one command each (one send).
"""
from __future__ import annotations

from typing import Any

import redis
from redis.connection import UnixDomainSocketConnection
from redis.retry import Retry
from redis.backoff import NoBackoff


class FaultPlan:
    """When to fail, shared by every connection of a faulty client."""

    def __init__(self) -> None:
        self.sent = 0
        self.at: int | None = None
        self.mode = "before"
        self.outage = True
        self.tripped = False

    def arm(self, at: int | None, mode: str = "before", outage: bool = True) -> None:
        self.sent, self.at, self.mode, self.outage, self.tripped = 0, at, mode, outage, False

    def heal(self) -> None:
        self.at, self.tripped = None, False


PLAN = FaultPlan()


class FaultyConnection(UnixDomainSocketConnection):
    """A unix-socket connection that obeys ``PLAN``."""

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        if PLAN.tripped:
            self.disconnect()
            raise redis.exceptions.ConnectionError("link down (injected)")
        PLAN.sent += 1
        if PLAN.at is not None and PLAN.sent == PLAN.at:
            PLAN.tripped = PLAN.outage
            if PLAN.mode == "before":
                self.disconnect()
                raise redis.exceptions.ConnectionError(f"dropped before command {PLAN.sent} (injected)")
            super().send_packed_command(command, check_health)
            self._lost_reply = True
            return
        super().send_packed_command(command, check_health)

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        if getattr(self, "_lost_reply", False):
            self._lost_reply = False
            self.read_response_after_loss = super().read_response(*args, **kwargs)  # it did run
            self.disconnect()
            raise redis.exceptions.ConnectionError(f"reply to command {PLAN.sent} lost (injected)")
        return super().read_response(*args, **kwargs)


def faulty_client(socket_path: str) -> "redis.Redis[bytes]":
    """A client whose connections obey ``PLAN``; no retries, so each fault surfaces."""
    pool = redis.ConnectionPool(connection_class=FaultyConnection, path=socket_path,
                                retry=Retry(NoBackoff(), 0))
    return redis.Redis(connection_pool=pool)
