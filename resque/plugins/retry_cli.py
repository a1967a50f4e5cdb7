"""``resque retry list|remove`` and the RETRY column of ``resque failed list``."""
from __future__ import annotations

import json
import time
from typing import Sequence

import click

from ..cli.admin import admin_client, json_option, json_value, show, table
from ..client import Resque
from ..failure import Failure
from .context import plugin_store
from .waiting import cancel_job, retry_name_of, waiting_retries


def _at(ts: int | None) -> str:
    return "" if ts is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


@click.group("retry")
def retry() -> None:
    """List and remove retries waiting in the delayed queue (resque-retry's)."""


@retry.command("list")
@click.option("--count", default=50, show_default=True, type=click.IntRange(min=1),
              help="How many waiting retries to show at the most.")
@json_option
@admin_client
def retry_list(client: Resque, count: int, as_json: bool) -> None:
    """List waiting retries, soonest first: job, failed runs, next run, last error."""
    found = waiting_retries(client, count)
    rows = [(_at(w.at), w.class_name, json.dumps(w.args), w.queue or "", w.attempt + 1,
             (f"{w.failure.get('exception')}: {w.failure.get('error')}" if w.failure else ""))
            for w in found["retries"]]
    data = {"retries": [w.to_dict() for w in found["retries"]], "read": found["read"],
            "complete": found["complete"]}
    note = "" if found["complete"] else f"\n(stopped after {found['read']} delayed jobs)"
    show(as_json, data, lambda: (table(["NEXT RUN", "CLASS", "ARGS", "QUEUE", "FAILED RUNS",
                                        "LAST ERROR"], rows) or "No retries are waiting") + note)


@retry.command("remove")
@click.argument("class_name", metavar="CLASS")
@click.argument("args_json", metavar="[ARGS_JSON]", required=False)
@json_option
@admin_client
def retry_remove(client: Resque, class_name: str, args_json: str | None, as_json: bool) -> None:
    """Cancel the waiting retries of CLASS (only those with ARGS_JSON, a JSON list, if given)."""
    args = None if args_json is None else json_value(args_json, list, "ARGS_JSON")
    n = cancel_job(client, class_name, args)
    show(as_json, {"removed": n}, lambda: f"Removed {n} waiting retries of {class_name}")


def failed_column(client: Resque, failures: Sequence[Failure]) -> list[str]:
    """Say, per failure, whether its job is being retried (its retry counter exists)."""
    store = plugin_store(client)
    names = [retry_name_of(client, f.job_class, f.args) if f.job_class else None for f in failures]
    keys = [store.keys.base.key(n) for n in names if n is not None]
    counters = iter(store.attempts(keys))
    out = []
    for name in names:
        attempt = next(counters) if name is not None else None
        out.append("" if attempt is None else f"retrying ({attempt + 1} failed)")
    return out
