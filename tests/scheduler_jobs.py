"""Job classes for the scheduler tests (Ruby-style names so items match Ruby's bytes)."""
from __future__ import annotations

from typing import Any

import pytest

from resque import Registry, Resque

CALLS: list[tuple[str, tuple[Any, ...]]] = []


class SomeJob:
    queue = "smoke_q"

    @staticmethod
    def perform(*args: Any) -> None:
        CALLS.append(("perform", args))


class NoQueueJob:
    @staticmethod
    def perform(*args: Any) -> None:
        pass


class HookJob:
    """Records every scheduling hook in Ruby's order; args[0] == "veto" says no."""

    queue = "hooks"

    @staticmethod
    def perform(*args: Any) -> None:
        pass

    @classmethod
    def before_schedule(cls, *args: Any) -> Any:
        CALLS.append(("before_schedule", args))
        return False if args and args[0] == "veto" else None

    @classmethod
    def before_schedule_zz(cls, *args: Any) -> None:
        CALLS.append(("before_schedule_zz", args))

    @classmethod
    def before_delayed_enqueue(cls, *args: Any) -> None:
        CALLS.append(("before_delayed_enqueue", args))

    @classmethod
    def before_enqueue(cls, *args: Any) -> None:
        CALLS.append(("before_enqueue", args))

    @classmethod
    def after_enqueue(cls, *args: Any) -> None:
        CALLS.append(("after_enqueue", args))

    @classmethod
    def after_schedule(cls, *args: Any) -> None:
        CALLS.append(("after_schedule", args))


class BrokenHookJob:
    queue = "hooks"

    @staticmethod
    def perform(*args: Any) -> None:
        pass

    @classmethod
    def before_delayed_enqueue(cls, *args: Any) -> None:
        raise RuntimeError("hook is broken")


def register(registry: Any) -> None:
    """Register the jobs under Ruby-style names."""
    for cls in (SomeJob, NoQueueJob, HookJob, BrokenHookJob):
        registry.register(cls, name=cls.__name__)
    CALLS.clear()


@pytest.fixture
def c(r: Any) -> Any:
    """A client on the flushed test server knowing these jobs."""
    client = Resque(r, registry=Registry())
    register(client.registry)
    return client
