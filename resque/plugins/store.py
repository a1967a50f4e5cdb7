"""Every Redis command of the retry and lock plugins, on the keys of ``keys.py``.

Retry commands follow resque-retry 1.8's sequences (reference section
7.6); the lock scripts live in ``lua/`` with every key through KEYS.
"""
from __future__ import annotations

from importlib import resources
from typing import Any, Sequence

import redis
from redis.commands.core import Script

from ..replies import text
from .keys import PluginKeys


def _load(name: str) -> str:
    return resources.files("resque.plugins").joinpath("lua", f"{name}.lua").read_text("utf-8")


def _int(raw: Any) -> int | None:
    try:
        return None if raw is None else int(raw)
    except (TypeError, ValueError):
        return None


class PluginStore:
    """All reads and writes of the retry and lock keys on one connection."""

    def __init__(self, client: redis.Redis, keys: PluginKeys):
        self.redis: Any = client
        self.keys = keys
        self._take: Script = client.register_script(_load("lock_take"))
        self._release: Script = client.register_script(_load("lock_release"))

    # -- retry counters ------------------------------------------------------

    def count_attempt(self, rkey: str, ignored: bool = False) -> int:
        """SETNX -1, INCR (and DECR for an ignored exception); return the attempt.

        INCR and DECR are sent as such, not as redis-py's INCRBY/DECRBY,
        so the wire shows Ruby's commands.
        """
        with self.redis.pipeline() as pipe:
            pipe.setnx(rkey, -1)
            pipe.execute_command("INCR", rkey)
            if ignored:
                pipe.execute_command("DECR", rkey)
            replies = pipe.execute()
        return int(replies[-1])

    def expire(self, key: str, seconds: float) -> None:
        self.redis.expire(key, max(1, int(seconds)))

    def keep_retrying(self, rkey: str) -> None:
        """SETNX -1: the key exists while a retry is pending (Ruby's signal)."""
        self.redis.setnx(rkey, -1)

    def forget(self, rkey: str) -> None:
        """DEL the attempt counter (success, giving up, a delegate)."""
        self.redis.delete(rkey)

    def attempts(self, rkeys: Sequence[str]) -> list[int | None]:
        """GET each counter in one pipelined round trip (missing: None)."""
        return [_int(r) for r in self._gets(rkeys)]

    def _gets(self, keys: Sequence[str]) -> list[bytes | None]:
        """GET each key in one pipelined round trip (missing or not a string: None)."""
        if not keys:
            return []
        with self.redis.pipeline(transaction=False) as pipe:
            for k in keys:
                pipe.get(k)
            replies = pipe.execute(raise_on_error=False)
        return [r if isinstance(r, bytes) else None for r in replies]

    # -- suppressed failures ---------------------------------------------------

    def save_failure(self, fkey: str, ttl: int, record: bytes) -> None:
        """SETEX the last suppressed failure of a retried job (Ruby's very command)."""
        self.redis.execute_command("SETEX", fkey, max(1, int(ttl)), record)

    def drop_failure(self, fkey: str) -> None:
        self.redis.delete(fkey)

    def failures(self, fkeys: Sequence[str]) -> list[bytes | None]:
        """GET each suppressed failure in one pipelined round trip."""
        return self._gets(fkeys)

    def cancel(self, rkey: str, fkey: str) -> int:
        """DEL the suppressed failure and the counter (the Retry tab's Remove)."""
        return int(self.redis.delete(fkey, rkey))

    # -- locks -------------------------------------------------------------------

    def take_lock(self, key: str, now: int, value: str, ttl: int, holder: str = "",
                  release: str | None = None) -> bool:
        """Take ``key`` (dropping the lock ``release`` either way); True if taken.

        A lock already held by ``holder`` is taken again (none: never).
        """
        keys = [key] if release is None else [key, release]
        return bool(self._take(keys=keys, args=[now, value, max(1, int(ttl)), holder]))

    def release_lock(self, key: str, value: str) -> bool:
        """Delete ``key`` only if it still holds ``value``."""
        return bool(self._release(keys=[key], args=[value]))

    def drop_lock(self, key: str) -> None:
        self.redis.delete(key)

    def lock_value(self, key: str) -> str | None:
        return text(self.redis.get(key))

    def lock_values(self, keys: Sequence[str]) -> list[str | None]:
        return [text(v) for v in self.redis.mget(keys)] if keys else []

    def extend_lock(self, key: str, ttl: int) -> None:
        """EXPIRE a lock to its full time to live."""
        self.redis.expire(key, max(1, int(ttl)))
