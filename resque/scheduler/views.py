"""Plain data about delayed items, schedules and schedulers, for the CLI and the web.

Every reader here is bounded: pages of seconds and items, never a whole
sorted set or list at once. Ruby-written data reads the same way, and
oddities (a fractional second, an item that is not JSON) are shown, not
hidden.
"""
from __future__ import annotations

import time
from typing import Any, Callable

from .._compat import loads
from ..client import Resque
from ..preview import Cut, decode_cut
from .delayed import splat_args, store_of
from .cron import Every
from .lock import MasterLock
from .schedule import Entry, get_schedules
from ..replies import text
from .timers import Timer

PAGE = 20
ITEM_BYTES, TAIL_BYTES = 4096, 512  # of an item read for a page (Redis cuts the rest)


def item_of(raw: bytes) -> dict[str, Any]:
    try:
        value = loads(raw)
    except ValueError:
        return {"raw": text(raw), "class": None, "args": [], "queue": None, "valid": False}
    if not isinstance(value, dict):
        return {"raw": text(raw), "class": None, "args": [], "queue": None, "valid": False}
    return {"raw": text(raw), "class": value.get("class"), "args": splat_args(value.get("args")),
            "queue": value.get("queue"), "valid": isinstance(value.get("class"), str)}


def item_of_cut(cut: Cut) -> dict[str, Any]:
    """Describe an item read cut to ``ITEM_BYTES``; a cut one has no exact bytes to act on."""
    if cut.whole:
        return dict(item_of(cut.head), cut=False, size=cut.size)
    value, _ = decode_cut(cut)
    item = value if isinstance(value, dict) else {}
    return {"raw": None, "class": item.get("class") if isinstance(item.get("class"), str) else None,
            "args": splat_args(item.get("args")), "queue": item.get("queue"), "valid": False,
            "cut": True, "size": cut.size, "text": value if isinstance(value, str) else None}


def second_of_member(member: str) -> int | None:
    try:
        return int(float(member))
    except ValueError:
        return None


def delayed_page(client: Resque, start: int = 0, count: int = PAGE) -> dict[str, Any]:
    """Return one page of delayed seconds with their sizes (and the item if alone)."""
    store = store_of(client)
    pairs = store.seconds(start, count)
    members = [m for m, _ in pairs]
    sizes = store.bucket_sizes(members)
    rows = []
    for (member, score), size in zip(pairs, sizes):
        row: dict[str, Any] = {"member": member, "timestamp": second_of_member(member), "score": score,
               "size": size, "item": None}
        if size == 1:
            head = client.store.list_cuts(store.keys.bucket(member), 0, 1, ITEM_BYTES, TAIL_BYTES)
            row["item"] = item_of_cut(head[0]) if head else None
        rows.append(row)
    total = store.schedule_size()
    return {"seconds": rows, "total": total, "start": start, "count": count}


def second_page(client: Resque, member: str, start: int = 0, count: int = PAGE) -> dict[str, Any]:
    """Return one page of the items of one second."""
    store = store_of(client)
    cuts = client.store.list_cuts(store.keys.bucket(member), start, count, ITEM_BYTES, TAIL_BYTES)
    items = [item_of_cut(c) for c in cuts]
    return {"member": member, "timestamp": second_of_member(member), "items": items,
            "total": store.bucket_size(member), "start": start, "count": count}


def search_delayed(client: Resque, term: str, limit: int = 200,
                   scan: int = 20_000) -> dict[str, Any]:
    """Find items whose text contains ``term`` (case-insensitive), oldest first.

    Bounded: at most ``limit`` hits, at most ``scan`` items read (1,000 at
    a time), each cut by Redis to its first and last bytes, so neither a
    huge delayed queue nor a huge item can stall a page.
    """
    needle = term.lower()
    hits: list[dict[str, Any]] = []
    read = 0
    store = store_of(client)
    for page in store.iter_seconds():
        for member in page:
            start = 0
            while True:
                chunk = client.store.list_cuts(store.keys.bucket(member), start, 1000, ITEM_BYTES, TAIL_BYTES)
                for cut in chunk:
                    if needle in (cut.head + cut.tail).decode("utf-8", "replace").lower():
                        hits.append(dict(item_of_cut(cut), member=member, timestamp=second_of_member(member)))
                read += len(chunk)
                if len(hits) >= limit or read >= scan:
                    return {"hits": hits[:limit], "read": read, "complete": False}
                if len(chunk) < 1000:
                    break
                start += 1000
    return {"hits": hits, "read": read, "complete": True}


def schedule_rows(client: Resque, static: dict[str, Entry], env: str | None = None,
                  now: float | None = None) -> list[dict[str, Any]]:
    """Return every entry (static and dynamic) with its next and last run."""
    now = time.time() if now is None else now
    dynamic = get_schedules(client)
    table: dict[str, tuple[Entry | None, str, str]] = {n: (e, "static", "") for n, e in static.items()}
    for name, config in dynamic.items():
        try:
            table[name] = (Entry.parse(name, config), "dynamic", "")
        except Exception as exc:  # noqa: BLE001 - a bad stored entry is shown with its error
            table[name] = (None, "dynamic", str(exc))
    names = sorted(table)
    store = store_of(client)
    last = store.last_enqueued(names)
    fired = store.last_fired(names)
    rows = []
    for name, last_at, fired_at in zip(names, last, fired):
        entry, source, error = table[name]
        row: dict[str, Any] = {"name": name, "source": source, "error": error,
                               "last_enqueued_at": last_at, "last_fired": fired_at}
        if entry is not None:
            timer = _quiet(lambda: Timer.start(entry, now))
            row.update(description=entry.description, interval=entry.interval_text(),
                       class_name=entry.class_name, queue=entry.queue, args=entry.args,
                       enabled=entry.enabled(env), config=entry.config,
                       next_run=_next_run(timer, fired_at, now))
        rows.append(row)
    return rows


def _next_run(timer: Timer | None, fired_at: float | None, now: float) -> float | None:
    """Guess the next run: an interval continues from its last firing when that is recent."""
    if timer is None:
        return None
    if isinstance(timer.trigger, Every) and fired_at is not None and fired_at + timer.trigger.seconds > now:
        return fired_at + timer.trigger.seconds
    return timer.next_at


def _quiet(make: Callable[[], Any]) -> Any:
    try:
        return make()
    except Exception:  # noqa: BLE001 - an entry that cannot start has no next run
        return None


def schedulers(client: Resque, prefix: str = "", now: float | None = None) -> dict[str, Any]:
    """Return the current master and every scheduler's last heartbeat."""
    now = time.time() if now is None else now
    store = store_of(client)
    lock = MasterLock(store, prefix, value="-")
    rows = []
    for sid, raw in sorted(store.beats().items()):
        try:
            beat = loads(raw)
        except ValueError:
            continue
        if not isinstance(beat, dict):
            continue
        age = now - float(beat.get("at") or 0)
        limit = max(3 * float(beat.get("interval") or 5), 15.0)
        rows.append(dict(beat, id=sid, age=age, alive=age <= limit))
    return {"master": lock.holder(), "ttl": store.lock_ttl(lock.key), "schedulers": rows}
