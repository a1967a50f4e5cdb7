"""The worker's call of the cycle script: EVALSHA on one held connection."""
from __future__ import annotations

from typing import Any, Sequence

import redis
from redis.commands.core import Script

from .commands import hiredis_pack

Reply = Any


class HotCycle:
    """Call ``lua/cycle.lua`` by EVALSHA on one held connection.

    The worker's hot path: no pool checkout, no retry (a retried call
    could reserve a job twice), about a third of ``Script.__call__``'s
    cost. NOSCRIPT means the script did not run: load it, call again.
    A connection error gives the connection back to the pool; the next
    call takes one through the pool, which connects it (a sentinel pool
    asks for the current master first). One thread only.
    """

    def __init__(self, client: Any, script: Script):
        self._pool = client.connection_pool
        self._script = script
        self._conn: Any = None
        # A sentinel pool's check (twice a second) that the master has not moved.
        self._moved = getattr(self._pool, "master_changed", None)

    def __call__(self, keys: Sequence[str], args: Sequence[Any]) -> Reply:
        conn = self._conn
        if conn is not None and self._moved is not None and self._moved():
            self._drop(conn)
            conn = None
        if conn is None:
            conn = self._conn = self._pool.get_connection()
        command = ("EVALSHA", self._script.sha, len(keys), *keys, *args)
        packed = [hiredis_pack(command)] if hiredis_pack is not None else conn.pack_command(*command)
        try:
            try:
                conn.send_packed_command(packed, False)
                return conn.read_response()
            except redis.exceptions.NoScriptError:
                conn.send_packed_command(conn.pack_command("SCRIPT", "LOAD", self._script.script), False)
                conn.read_response()
                conn.send_packed_command(packed, False)
                return conn.read_response()
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
            # send_packed_command would reconnect to the address it had: a
            # demoted master. Reconnecting through the pool finds the new one.
            self._drop(conn)
            raise

    def reset(self) -> None:
        """Drop the held connection (its stream may hold a reply nobody read)."""
        if self._conn is not None:
            self._drop(self._conn)

    def _drop(self, conn: Any) -> None:
        self._conn = None
        conn.disconnect()
        self._pool.release(conn)
