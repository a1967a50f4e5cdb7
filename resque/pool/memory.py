"""Memory figures of a process from ``/proc`` (Linux).

``rss`` is what the memory ceiling compares: the process's resident set,
``VmRSS`` in ``/proc/PID/status`` (what ``ps -o rss`` shows). It counts the
pages a forked worker still shares with the pool master, so set the
ceiling above a fresh worker's RSS. ``smaps_rollup`` gives PSS and USS,
which split shared pages fairly, for measuring what each worker costs.
"""
from __future__ import annotations

from pathlib import Path


def rss(pid: int) -> int | None:
    """Return the resident set size of ``pid`` in bytes (None if unknown)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def smaps_rollup(pid: int) -> dict[str, int]:
    """Return ``Rss``, ``Pss`` and ``Uss`` (private clean + dirty) of ``pid`` in bytes."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == "kB":
            fields[parts[0].rstrip(":")] = int(parts[1]) * 1024
    return {"Rss": fields.get("Rss", 0), "Pss": fields.get("Pss", 0),
            "Uss": fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)}
