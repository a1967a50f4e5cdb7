"""Command sequences sent by both stores, the sync one and the asyncio one.

Each function returns ``(NAME, *args)`` tuples (or a script's KEYS and
ARGV) built from ``Keys``, so ``store.py`` and ``aio/store.py`` put the
same bytes on the wire. Only the stores send them.
"""
from __future__ import annotations

from importlib import resources
from typing import Any, Sequence

from .errors import NotReplicated
from .keys import Keys

Command = tuple[Any, ...]

hiredis_pack: Any
try:
    from hiredis import pack_command as hiredis_pack
except ImportError:  # pragma: no cover - redis-py packs in Python instead
    hiredis_pack = None
_MULTI, _EXEC = b"*1\r\n$5\r\nMULTI\r\n", b"*1\r\n$4\r\nEXEC\r\n"


def script_source(name: str) -> str:
    """Return the text of ``resque/lua/NAME.lua``."""
    return resources.files("resque").joinpath("lua", f"{name}.lua").read_text("utf-8")


def pack_transaction(conn: Any, commands: Sequence[Command], after: Sequence[Command] = ()) -> list[bytes]:
    """Pack ``MULTI``, ``commands``, ``EXEC`` (then ``after``) for one write on ``conn``."""
    if hiredis_pack is not None:
        return [b"".join([_MULTI, *map(hiredis_pack, commands), _EXEC, *map(hiredis_pack, after)])]
    packed: list[bytes] = conn.pack_commands([("MULTI",), *commands, ("EXEC",), *after])
    return packed


def check_replicated(acknowledged: Any, wait: Command, what: str) -> None:
    """Raise ``NotReplicated`` if ``WAIT`` (``wait``) heard from too few replicas."""
    count = int(acknowledged)
    if count < wait[1]:
        raise NotReplicated(
            f"{what}: written to the master but acknowledged by {count} of {wait[1]} "
            f"replicas within {wait[2]} ms; the job may or may not be kept (a failover now "
            "would drop it): enqueue it again for at-least-once delivery", count, wait[1])


def push(keys: Keys, queue: str, payload: bytes) -> tuple[Command, Command]:
    """SADD the queue to ``queues`` and RPUSH the payload (a transaction)."""
    return ("SADD", keys.queues, queue), ("RPUSH", keys.queue(queue), payload)


def push_many(keys: Keys, queue: str, payloads: Sequence[bytes], chunk: int = 1000) -> list[Command]:
    """SADD the queue once, then RPUSH the payloads ``chunk`` at a time (a transaction)."""
    key = keys.queue(queue)
    return [("SADD", keys.queues, queue),
            *(("RPUSH", key, *payloads[i : i + chunk]) for i in range(0, len(payloads), chunk))]


def failure_sweep(keys: Keys, list_name: str, mode: str, token: str, ttl_ms: int,
                  args: Sequence[Any] = (), queues: Sequence[str] = ()) -> tuple[list[str], list[Any]]:
    """Return the KEYS and ARGV of ``lua/failure_sweep.lua``."""
    return ([keys.failed_list(list_name), keys.failed_sweep(list_name),
             keys.failed_sweep_owner(list_name), keys.queues, *(keys.queue(q) for q in queues)],
            [mode, token, ttl_ms, *args])


def failure_edit(keys: Keys, list_name: str, action: str, index: int, digest: str,
                 record: bytes = b"", payload: bytes = b"",
                 queue: str = "") -> tuple[list[str], list[Any]]:
    """Return the KEYS and ARGV of ``lua/failure_edit.lua``."""
    return ([keys.failed_list(list_name), keys.queues, keys.queue(queue)],
            [action, index, digest, record, payload, queue])
