"""Retries that are waiting: delayed jobs with a retry counter, for the CLI and the web.

A waiting retry is a delayed item whose class and arguments have a
resque-retry counter (``GET <retry key>`` answers): the attempt count,
the second it runs at and, with the suppression backend, the last
failure (``failure-<retry key>``). Reads are bounded: at most ``scan``
delayed items from the oldest second, a page of them at a time.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .._compat import loads
from ..client import Resque
from ..errors import ResqueError
from ..scheduler.delayed import remove_delayed_raw, store_of
from ..scheduler.views import item_of, second_of_member
from .context import plugin_store
from .retry import Retry, RetryMixin, policy_of

SCAN = 2000  # delayed items read at the most for one listing
_CHUNK = 100


@dataclass
class Waiting:
    """One delayed retry and what Redis knows about it."""

    member: str
    at: int | None
    raw: str
    class_name: str
    args: list[Any]
    queue: str | None
    retry_key: str
    attempt: int
    failure: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["class"] = out.pop("class_name")
        return out


def retry_name_of(client: Resque, class_name: str, args: list[Any]) -> str:
    """Return a job's retry key name, by its own rule if the class is known here."""
    try:
        spec = client.registry.resolve(class_name)
    except ResqueError:
        spec = None
    policy = spec.options.get("retry") if spec is not None else None
    if spec is not None and not isinstance(policy, Retry) and isinstance(spec.target, type) \
            and issubclass(spec.target, RetryMixin):
        policy = policy_of(spec.target, args)
    if isinstance(policy, Retry):
        return policy.retry_name(class_name, args)
    return Retry().retry_name(class_name, args)


def _item(raw: bytes) -> tuple[str, list[Any], str | None] | None:
    item = item_of(raw)
    if not item["valid"]:
        return None
    queue = item["queue"]
    return item["class"], item["args"], queue if isinstance(queue, str) else None


def waiting_retries(client: Resque, limit: int = 50, scan: int = SCAN) -> dict[str, Any]:
    """Return up to ``limit`` waiting retries, soonest first, reading at most ``scan`` items.

    ``complete`` is False when the listing stopped before the end of the
    delayed queue (``read`` items were read).
    """
    delayed = store_of(client)
    found: list[Waiting] = []
    read = 0
    complete = True
    for page in delayed.iter_seconds(_CHUNK):
        for member in page:
            if read >= scan or len(found) >= limit:
                complete = False
                break
            raws = delayed.bucket_range(member, 0, scan - read)
            read += len(raws)
            found += _with_counters(client, member, raws)
        if not complete:
            break
    found = found[:limit]
    _add_failures(client, found)
    return {"retries": found, "read": read, "complete": complete}


def _with_counters(client: Resque, member: str, raws: list[bytes]) -> list[Waiting]:
    store = plugin_store(client)
    rows = []
    for raw in raws:
        item = _item(raw)
        if item is not None:
            name = retry_name_of(client, item[0], item[1])
            rows.append(Waiting(member, second_of_member(member), raw.decode("utf-8", "replace"), item[0],
                                item[1], item[2], name, 0, None))
    attempts = store.attempts([store.keys.base.key(w.retry_key) for w in rows])
    kept = []
    for w, attempt in zip(rows, attempts):
        if attempt is not None:
            w.attempt = attempt
            kept.append(w)
    return kept


def _add_failures(client: Resque, rows: list[Waiting]) -> None:
    store = plugin_store(client)
    for w, raw in zip(rows, store.failures([store.keys.failure(w.retry_key) for w in rows])):
        try:
            value = loads(raw) if raw else None
        except ValueError:
            value = {"error": raw.decode("utf-8", "replace") if raw else ""}
        w.failure = value if isinstance(value, dict) else None


def cancel(client: Resque, raw: bytes) -> int:
    """Remove a waiting retry (every delayed copy of its exact item) and its keys.

    Return how many delayed copies were removed; the counter and the last
    failure go only when something was removed.
    """
    item = _item(raw)
    removed = remove_delayed_raw(client, raw)
    if removed and item is not None:
        store = plugin_store(client)
        name = retry_name_of(client, item[0], item[1])
        store.cancel(store.keys.base.key(name), store.keys.failure(name))
    return removed


def cancel_job(client: Resque, class_name: str, args: list[Any] | None = None) -> int:
    """Remove the waiting retries of a class (with ``args``: only those); return how many."""
    done = 0
    while True:
        rows = [w for w in waiting_retries(client, limit=200)["retries"]
                if w.class_name == class_name and (args is None or w.args == args)]
        removed = sum(cancel(client, w.raw.encode("utf-8")) for w in rows)
        done += removed
        if not removed:
            return done
