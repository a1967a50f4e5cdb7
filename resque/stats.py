"""Stat stores: named integer counters, ``stat:<name>`` in Redis by default."""
from __future__ import annotations

from typing import Protocol

from .store import Store


class StatStore(Protocol):
    """What a stat store provides; plug in your own with these four methods."""

    def get(self, name: str) -> int: ...
    def incr(self, name: str, by: int = 1) -> int: ...
    def decr(self, name: str, by: int = 1) -> int: ...
    def clear(self, name: str) -> None: ...


class RedisStats:
    """Counters in Redis under ``<ns>:stat:<name>`` (Ruby's default store)."""

    counts_in_cycle = True  # the worker's reserve script may bump processed counters itself

    def __init__(self, store: Store):
        self.store = store

    def get(self, name: str) -> int:
        return self.store.stat(name)

    def incr(self, name: str, by: int = 1) -> int:
        return self.store.incr_stat(name, by)

    def decr(self, name: str, by: int = 1) -> int:
        return self.store.decr_stat(name, by)

    def clear(self, name: str) -> None:
        self.store.clear_stat(name)


class NullStats:
    """Keep no statistics at all."""

    counts_in_cycle = False

    def get(self, name: str) -> int:
        return 0

    def incr(self, name: str, by: int = 1) -> int:
        return 0

    def decr(self, name: str, by: int = 1) -> int:
        return 0

    def clear(self, name: str) -> None:
        return None
