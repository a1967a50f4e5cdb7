"""Every Redis command the library sends: the protocol in one module.

Methods mirror Ruby's ``data_store.rb``. Key names come from ``Keys``;
Lua scripts live in ``resque/lua/`` and receive every key through KEYS.
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator, Sequence

import redis
from redis.commands.core import Script

from . import commands
from .commands import Command, check_replicated, pack_transaction, script_source
from .errors import CorruptValue
from .hot_cycle import HotCycle, Reply
from .keys import Keys, failed_stat, processed_stat
from .preview import Cut
from .replies import Corrupt, number, shown_text, text


def _transact(conn: Any, sequence: Sequence[Command], after: Sequence[Command] = ()) -> list[Any]:
    """Send MULTI..EXEC (then ``after``) in one write; return EXEC's reply, then after's."""
    # connect() first: a retry after an error must reconnect the way the pool
    # does (a sentinel connection asks for the current master), not to the
    # address it had, as send_packed_command would.
    conn.connect()
    conn.send_packed_command(pack_transaction(conn, sequence, after), False)
    try:
        for _ in range(len(sequence) + 1):
            conn.read_response()  # +OK, then +QUEUED per command
        return [conn.read_response() for _ in range(1 + len(after))]
    except redis.exceptions.ResponseError:
        conn.disconnect()  # replies may be left unread
        raise


class Store:
    """All reads and writes of Resque's keys on one Redis connection.

    ``wait`` is the ``WAIT`` command (see ``connection.replica_wait``) that
    ``push`` and ``push_many`` send after their transaction, or None.
    """

    wait: Command | None = None

    def __init__(self, client: redis.Redis, keys: Keys):
        self.redis: Any = client  # redis-py's reply types are loose; replies here are bytes
        self.keys = keys
        self._cycle: Script = client.register_script(script_source("cycle"))
        self._failure_edit: Script = client.register_script(script_source("failure_edit"))
        self._failure_sweep: Script = client.register_script(script_source("failure_sweep"))
        self._scan_cuts: Script = client.register_script(script_source("scan_cuts"))
        self._requeue_orphan: Script = client.register_script(script_source("requeue_orphan"))
        self._preview_range: Script = client.register_script(script_source("preview_range"))
        self._take_head: Script = client.register_script(script_source("take_head"))
        self._unregister: Script = client.register_script(script_source("unregister"))
        self._release_lock: Script = client.register_script(script_source("release_lock"))

    # -- queues -----------------------------------------------------------

    def push(self, queue: str, payload: bytes) -> None:
        """SADD the queue and RPUSH the payload, atomically: one round trip."""
        self._atomic(commands.push(self.keys, queue, payload), self.wait, queue)

    def _atomic(self, sequence: Sequence[Command], wait: Command | None = None,
                queue: str = "") -> list[Any]:
        """Run ``sequence`` in MULTI/EXEC with one write on a pooled connection.

        What redis-py's transaction pipeline sends, retried the same way,
        without building a pipeline object: half the client-side cost. With
        ``wait``, ``WAIT`` follows in the same write and too few replicas
        raise ``NotReplicated``.
        """
        after = () if wait is None else (wait,)
        pool = self.redis.connection_pool
        conn = pool.get_connection()
        try:
            replies, *acked = conn.retry.call_with_retry(
                lambda: _transact(conn, sequence, after), lambda _: conn.disconnect())
        finally:
            pool.release(conn)
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        if wait is not None:
            check_replicated(acked[0], wait, f"enqueue on queue {queue!r}")
        return list(replies)

    def push_many(self, queue: str, payloads: Sequence[bytes], chunk: int = 1000) -> None:
        """Push many payloads to one queue in a single round trip."""
        if not payloads:
            return
        if self.wait is not None:
            self._atomic(commands.push_many(self.keys, queue, payloads, chunk), self.wait, queue)
            return
        with self.redis.pipeline() as pipe:
            for command in commands.push_many(self.keys, queue, payloads, chunk):
                pipe.execute_command(*command)
            pipe.execute()

    def pop(self, queue: str) -> bytes | None:
        popped: bytes | None = self.redis.lpop(self.keys.queue(queue))
        return popped

    def size(self, queue: str) -> int:
        return int(self.redis.llen(self.keys.queue(queue)))

    def list_range(self, key: str, start: int, count: int) -> list[bytes]:
        """Return ``count`` elements of any list from ``start`` (Ruby's list_range)."""
        if count <= 0:
            return []
        return list(self.redis.lrange(key, start, start + count - 1))

    def queue_range(self, queue: str, start: int = 0, count: int = -1) -> list[bytes]:
        end = -1 if count < 0 else start + count - 1
        return list(self.redis.lrange(self.keys.queue(queue), start, end))

    def queue_chunks(self, queue: str, chunk: int = 1000) -> Iterator[list[bytes]]:
        """Yield a queue's elements in windows of ``chunk`` (LRANGE by LRANGE)."""
        key, start = self.keys.queue(queue), 0
        while True:
            items = list(self.redis.lrange(key, start, start + chunk - 1))
            if items:
                yield items
            if len(items) < chunk:
                return
            start += chunk

    def queue_names(self) -> list[str]:
        return [text(q) or "" for q in self.redis.smembers(self.keys.queues)]

    def queue_sizes(self, queues: Iterable[str] | None = None) -> dict[str, int]:
        names = sorted(self.queue_names() if queues is None else queues)
        with self.redis.pipeline(transaction=False) as pipe:
            for q in names:
                pipe.llen(self.keys.queue(q))
            return dict(zip(names, (int(n) for n in pipe.execute())))

    def watch_queue(self, queue: str) -> None:
        self.redis.sadd(self.keys.queues, queue)

    def remove_queue(self, queue: str) -> None:
        with self.redis.pipeline() as pipe:
            pipe.srem(self.keys.queues, queue)
            pipe.delete(self.keys.queue(queue))
            pipe.execute()

    def clear_queue(self, queue: str) -> int:
        """Delete a queue's jobs but keep it registered; return how many."""
        with self.redis.pipeline() as pipe:
            pipe.llen(self.keys.queue(queue))
            pipe.delete(self.keys.queue(queue))
            return int(pipe.execute()[0])

    def remove_from_queue(self, queue: str, payload: bytes) -> int:
        """LREM every element byte-equal to ``payload``."""
        return int(self.redis.lrem(self.keys.queue(queue), 0, payload))

    # -- the hot path -------------------------------------------------------

    def cycle(self, worker_id: str, finish: str, run_at: str, queue_keys: Sequence[str],
              queue_json: Sequence[bytes], expected: str = "",
              client: Any = None, timing: bytes = b"") -> Reply:
        """Finish the previous job and reserve the next (see ``lua/cycle.lua``).

        ``timing`` is a batch of job run times to add (``timing.Batch``).
        """
        return self._cycle(keys=[*self.cycle_keys(worker_id), *queue_keys],
                           args=[finish, run_at, expected, timing, *queue_json], client=client)

    def cycle_keys(self, worker_id: str) -> list[str]:
        """Return the cycle script's fixed leading keys (queue keys follow)."""
        k = self.keys
        return [k.worker(worker_id), k.stat(processed_stat()), k.stat(processed_stat(worker_id)),
                k.pause_all, k.queues, k.timing, k.timing_classes]

    @property
    def cycle_script(self) -> Script:
        return self._cycle

    def take_head(self, worker_id: str, queue: str, element: bytes, action: str,
                  queue_json: bytes = b"", run_at: str = "") -> bool:
        """Take (reserve) or drop a queue's head element iff it is ``element``."""
        return bool(self._take_head(keys=[self.keys.worker(worker_id), self.keys.queue(queue)],
                                    args=[action, element, queue_json, run_at]))

    def hot_cycle(self, client: Any) -> HotCycle:
        """Return the cycle script bound to one held connection of ``client``."""
        return HotCycle(client, self._cycle)

    def paused(self) -> bool:
        value = text(self.redis.get(self.keys.pause_all))
        return value is not None and value.strip().lower() == "true"

    def set_paused(self, paused: bool) -> None:
        if paused:
            self.redis.set(self.keys.pause_all, "true")
        else:
            self.redis.delete(self.keys.pause_all)

    # -- workers ------------------------------------------------------------

    def register_worker(self, worker_id: str, started: str) -> None:
        with self.redis.pipeline() as pipe:
            pipe.sadd(self.keys.workers, worker_id)
            pipe.set(self.keys.worker_started(worker_id), started)
            pipe.execute()

    def unregister_worker(self, worker_id: str, record: bytes | None = None) -> bool:
        """Delete a worker's keys iff its job record is still ``record``.

        Return False, deleting nothing, when the record changed since the
        caller read it: the job now in it has not been failed or requeued.
        """
        k = self.keys
        return bool(self._unregister(
            keys=[k.workers, k.worker(worker_id), k.worker_started(worker_id), k.heartbeat,
                  k.stat(processed_stat(worker_id)), k.stat(failed_stat(worker_id))],
            args=[worker_id, record or b""]))

    def worker_ids(self) -> list[str]:
        return [text(w) or "" for w in self.redis.smembers(self.keys.workers)]

    def worker_exists(self, worker_id: str) -> bool:
        return bool(self.redis.sismember(self.keys.workers, worker_id))

    def worker_job(self, worker_id: str) -> bytes | None:
        """Return a worker's job record (None also when the key has another type, as MGET)."""
        try:
            record: bytes | None = self.redis.get(self.keys.worker(worker_id))
        except redis.exceptions.ResponseError:
            return None
        return record

    def worker_jobs(self, worker_ids: Sequence[str]) -> list[bytes | None]:
        if not worker_ids:
            return []
        return list(self.redis.mget([self.keys.worker(w) for w in worker_ids]))

    def set_worker_job(self, worker_id: str, record: bytes) -> None:
        self.redis.set(self.keys.worker(worker_id), record)

    def clear_worker_job(self, worker_id: str) -> None:
        self.redis.delete(self.keys.worker(worker_id))

    def worker_details(self, worker_id: str) -> tuple[str | None, int | Corrupt, int | Corrupt,
                                                      str | None]:
        """Return (started, processed, failed, heartbeat) of one worker.

        A value of the wrong shape or Redis type comes back as ``Corrupt``.
        """
        k = self.keys
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(k.worker_started(worker_id))
            pipe.get(k.stat(processed_stat(worker_id)))
            pipe.get(k.stat(failed_stat(worker_id)))
            pipe.hget(k.heartbeat, worker_id)
            started, processed, failed, beat = pipe.execute(raise_on_error=False)
        return shown_text(started), number(processed), number(failed), shown_text(beat)

    def heartbeat(self, worker_id: str, stamp: str) -> bool:
        """Write a heartbeat; return whether the worker is still registered."""
        with self.redis.pipeline() as pipe:
            pipe.hset(self.keys.heartbeat, worker_id, stamp)
            pipe.sismember(self.keys.workers, worker_id)
            return bool(pipe.execute()[1])

    def remove_heartbeat(self, worker_id: str) -> None:
        self.redis.hdel(self.keys.heartbeat, worker_id)

    def heartbeats(self) -> dict[str, str]:
        raw = self.redis.hgetall(self.keys.heartbeat)
        return {text(k) or "": text(v) or "" for k, v in raw.items()}

    def server_time(self) -> float:
        sec, usec = self.redis.time()
        return float(sec) + float(usec) / 1e6

    def set_job_limit(self, worker_id: str, record: bytes, ttl: int) -> None:
        """SET the time limit of a worker's job, with a TTL past the limit."""
        self.redis.set(self.keys.job_limit(worker_id), record, ex=max(1, ttl))

    def job_limits(self, worker_ids: Sequence[str]) -> list[bytes | None]:
        """MGET the job time limits of workers (missing: None)."""
        return list(self.redis.mget([self.keys.job_limit(w) for w in worker_ids])) if worker_ids else []

    def acquire_prune_lock(self, worker_id: str, seconds: int) -> bool:
        return bool(self.redis.set(self.keys.prune_lock, worker_id, ex=seconds, nx=True))

    def release_prune_lock(self, worker_id: str) -> bool:
        """Delete the prune lock if ``worker_id`` still holds it."""
        return bool(self._release_lock(keys=[self.keys.prune_lock], args=[worker_id]))

    def requeue_orphan(self, worker_id: str, record: bytes, queue: str, payload: bytes,
                       digest: str = "", limit: int = 0, ttl: int = 0) -> int:
        """Push an orphaned job back to its queue head iff its record is unchanged.

        With a ``limit``, count the job's orphanings under ``digest``; the one
        that reaches the limit is not requeued. See ``lua/requeue_orphan.lua``.
        """
        k = self.keys
        return int(self._requeue_orphan(
            keys=[k.worker(worker_id), k.queues, k.queue(queue), k.requeued_orphans,
                  k.orphan_count(digest)],
            args=[record, payload, queue, limit, ttl]))

    def forget_orphan(self, digest: str) -> None:
        """Delete a job's orphan count (it was failed, or has run to the end)."""
        self.redis.delete(self.keys.orphan_count(digest))

    # -- stats --------------------------------------------------------------

    def stat(self, name: str) -> int:
        """Return a counter; raise ``CorruptValue`` if it is not an integer."""
        value = self.stat_value(name)
        if isinstance(value, Corrupt):
            raise CorruptValue(self.keys.stat(name), value)
        return value

    def stat_value(self, name: str) -> int | Corrupt:
        """Return a counter, or ``Corrupt`` when it holds something else."""
        try:
            return number(self.redis.get(self.keys.stat(name)))
        except redis.exceptions.ResponseError as exc:
            return number(exc)

    def incr_stat(self, name: str, by: int = 1) -> int:
        return int(self.redis.incrby(self.keys.stat(name), by))

    def decr_stat(self, name: str, by: int = 1) -> int:
        return int(self.redis.decrby(self.keys.stat(name), by))

    def clear_stat(self, name: str) -> None:
        self.redis.delete(self.keys.stat(name))

    def count_failed(self, worker_id: str) -> None:
        """Increment ``stat:failed`` and ``stat:failed:<id>`` together."""
        with self.redis.pipeline() as pipe:
            pipe.incrby(self.keys.stat(failed_stat()), 1)
            if worker_id:
                pipe.incrby(self.keys.stat(failed_stat(worker_id)), 1)
            pipe.execute()

    # -- failures -----------------------------------------------------------

    def failure_push(self, list_name: str, record: bytes, register: bool = False) -> None:
        """RPUSH a failure record; ``register`` also SADDs it to failed_queues."""
        with self.redis.pipeline() as pipe:
            if register:
                pipe.sadd(self.keys.failed_queues, list_name)
            pipe.rpush(self.keys.failed_list(list_name), record)
            pipe.execute()

    def failure_count(self, list_name: str) -> int:
        return int(self.redis.llen(self.keys.failed_list(list_name)))

    def failure_range(self, list_name: str, start: int, count: int) -> list[bytes]:
        return self.list_range(self.keys.failed_list(list_name), start, count)

    def failure_edit(self, list_name: str, action: str, index: int, digest: str,
                     record: bytes = b"", payload: bytes = b"", queue: str = "") -> int:
        """Retry or remove one record by content; see ``lua/failure_edit.lua``."""
        keys, args = commands.failure_edit(self.keys, list_name, action, index, digest,
                                           record, payload, queue)
        return int(self._failure_edit(keys=keys, args=args))

    def failure_sweep(self, list_name: str, mode: str, token: str, ttl_ms: int,
                      args: Sequence[Any] = (), queues: Sequence[str] = ()) -> int:
        """Run one step of a window-by-window sweep; see ``lua/failure_sweep.lua``."""
        keys, argv = commands.failure_sweep(self.keys, list_name, mode, token, ttl_ms, args, queues)
        return int(self._failure_sweep(keys=keys, args=argv))

    def failure_clear(self, list_name: str) -> int:
        return int(self.redis.delete(self.keys.failed_list(list_name)))

    def failed_queue_names(self) -> list[str]:
        return sorted(text(q) or "" for q in self.redis.smembers(self.keys.failed_queues))

    # -- inspection ---------------------------------------------------------

    def all_keys(self) -> list[str]:
        """Every key under the namespace, prefix stripped (SCAN, not KEYS)."""
        pattern = "".join("\\" + c if c in "*?[]\\" else c for c in self.keys.prefix) + "*"
        return sorted(self.keys.strip(text(k) or "") for k in self.redis.scan_iter(match=pattern, count=1000))

    def key_info(self, name: str) -> tuple[str, int]:
        """Return the TYPE and size of one namespaced key."""
        key = self.keys.key(name)
        kind = text(self.redis.type(key)) or "none"
        size = {
            "list": self.redis.llen, "set": self.redis.scard, "hash": self.redis.hlen,
            "zset": self.redis.zcard, "string": self.redis.strlen,
        }.get(kind)
        return kind, int(size(key)) if size else 0

    def key_values(self, name: str, start: int, count: int,
                   cut: int = 4096) -> tuple[str, list[str], int | None]:
        """Return the TYPE, a window of values and the next cursor of one key.

        Nothing is read whole: a string by GETRANGE, a list element, a set
        member, a hash field or value and a sorted set member each cut to
        ``cut`` bytes in Redis (a cut one ends in ``…``, see
        ``lua/scan_cuts.lua``); sets and hashes by SSCAN/HSCAN from the
        cursor ``start`` (the next cursor is returned, None at the end),
        sorted sets by rank.
        """
        key = self.keys.key(name)
        kind = text(self.redis.type(key)) or "none"
        cursor: int | None = None
        items: list[str] = []
        if kind == "string":
            items = [text(self.redis.getrange(key, 0, cut - 1)) or ""]
        elif kind == "list":
            items = [(text(c.head) or "") + ("…" if not c.whole else "")
                     for c in self.list_cuts(key, start, count, cut)]
        elif kind in ("set", "hash", "zset"):
            flat = self._scan_cuts(keys=[key], args=[kind, start, count, cut])
            cuts = [(text(flat[i + 1]) or "") + ("…" if int(flat[i]) > cut else "")
                    for i in range(1, len(flat), 2)]
            items = [f"{k}: {v}" for k, v in zip(cuts[::2], cuts[1::2])] if kind == "hash" else cuts
            cursor = None if kind == "zset" else int(flat[0])
        return kind, items, cursor or None

    def web_secret(self, candidate: bytes) -> bytes:
        """Return the stored web secret, storing ``candidate`` first if there is none."""
        with self.redis.pipeline() as pipe:
            pipe.set(self.keys.web_secret, candidate, nx=True)
            pipe.get(self.keys.web_secret)
            stored: bytes = pipe.execute()[1]
        return stored

    def list_cuts(self, key: str, start: int, count: int, head: int,
                  tail: int = 0) -> list[Cut]:
        """Return a window of any list, each element cut to ``head`` + ``tail`` bytes."""
        if count <= 0:
            return []
        flat = self._preview_range(keys=[key], args=[start, start + count - 1, head, tail])
        return [Cut(int(flat[i]), flat[i + 1], flat[i + 2]) for i in range(0, len(flat), 3)]

    def queue_cuts(self, queue: str, start: int, count: int, head: int) -> list[Cut]:
        """Return a window of a queue's jobs, each cut to ``head`` bytes."""
        return self.list_cuts(self.keys.queue(queue), start, count, head)

    def failure_cuts(self, list_name: str, start: int, count: int, head: int,
                     tail: int) -> list[Cut]:
        """Return a window of a failure list, each record cut to its head and tail."""
        return self.list_cuts(self.keys.failed_list(list_name), start, count, head, tail)

    def worker_job_cuts(self, worker_ids: Sequence[str], head: int) -> list[Cut | None]:
        """Return each worker's job record cut to ``head`` bytes (GETRANGE), or None."""
        if not worker_ids:
            return []
        with self.redis.pipeline(transaction=False) as pipe:
            for w in worker_ids:
                pipe.strlen(self.keys.worker(w))
                pipe.getrange(self.keys.worker(w), 0, head - 1)
            replies = pipe.execute(raise_on_error=False)
        out: list[Cut | None] = []
        for size, part in zip(replies[::2], replies[1::2]):
            ok = isinstance(size, int) and size > 0 and isinstance(part, bytes)
            out.append(Cut(size, part) if ok else None)
        return out

    def server_info(self) -> dict[str, Any]:
        return dict(self.redis.info())

    def ping(self) -> bool:
        return bool(self.redis.ping())
