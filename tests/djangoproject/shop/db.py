"""One table of events the tasks and hooks write, through Django's connection."""
from __future__ import annotations

import os

from django.db import connection


def create_table() -> None:
    with connection.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS events "
                    "(kind TEXT, value TEXT, pid INTEGER, fresh INTEGER)")


def record(kind: str, value: object) -> None:
    """Insert an event; ``fresh`` says whether no connection was open before."""
    fresh = connection.connection is None
    with connection.cursor() as cur:
        cur.execute("INSERT INTO events VALUES (%s, %s, %s, %s)",
                    [kind, str(value), os.getpid(), int(fresh)])


def events(kind: str | None = None) -> list[tuple[str, str, int, int]]:
    with connection.cursor() as cur:
        if kind is None:
            cur.execute("SELECT kind, value, pid, fresh FROM events ORDER BY rowid")
        else:
            cur.execute("SELECT kind, value, pid, fresh FROM events WHERE kind = %s ORDER BY rowid",
                        [kind])
        return [tuple(row) for row in cur.fetchall()]  # type: ignore[misc]
