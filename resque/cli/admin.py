"""Admin commands: queues, failures, workers and counters, as tables or JSON."""
from __future__ import annotations

import functools
import itertools
import json
from typing import Any, Callable, Iterable, Iterator, Sequence, TypeVar

import click
import redis

from .. import extensions
from ..client import Resque
from ..worker_info import WorkerInfo
from ..failure import Failure, FailureBackend
from ..failure.base import shown_bytes
from ..payload import job_args, job_class
from ..prune import local_worker_pids
from ..worker import prune_dead_workers
from ..workers import kill_worker, remove_worker
from .main import main, pass_client

F = TypeVar("F", bound=Callable[..., Any])
_REDIS_FIELDS = ("redis_version", "uptime_in_seconds", "connected_clients", "used_memory_human")

# -- output helpers -------------------------------------------------------------


def printable(value: Any) -> str:
    """Render a value on one line, escaping control characters."""
    if value is None:
        return ""
    s = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in s)


def table(headers: Sequence[str] | None, rows: Iterable[Sequence[Any]], width: int = 60) -> str:
    """Format rows as left-aligned columns (no rows: ""); long cells are cut."""
    data = [[_cut(printable(c), width) for c in row] for row in rows]
    if not data:
        return ""
    if headers:
        data.insert(0, list(headers))
    widths = [max(len(r[i]) for r in data if i < len(r)) for i in range(max(map(len, data)))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in data)


def _cut(s: str, width: int) -> str:
    return s if len(s) <= width else s[: width - 1] + "…"


def dump(data: Any) -> None:
    """Print JSON with sorted keys, for scripts."""
    click.echo(json.dumps(data, sort_keys=True, indent=2))


def show(as_json: bool, data: Any, human: Callable[[], str]) -> None:
    """Print ``data`` as JSON, or the text ``human()`` builds."""
    if as_json:
        dump(data)
    else:
        click.echo(human())


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON (sorted keys) for scripts.")
_window = [
    click.option("--start", default=0, show_default=True, type=click.IntRange(min=0),
                 help="Index of the first item to show."),
    click.option("--count", default=20, show_default=True, type=click.IntRange(min=1),
                 help="How many items to show."),
]


def json_value(text: str, kind: type, hint: str) -> Any:
    """Decode a JSON argument of the given kind (list or dict), or fail as a usage error."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint=hint) from None
    if not isinstance(value, kind):
        example = "array, e.g. '[1, \"two\"]'" if kind is list else "object"
        raise click.BadParameter(f"must be a JSON {example}", param_hint=hint)
    return value


def window_options(f: F) -> F:
    """Add ``--start`` and ``--count``."""
    for opt in reversed(_window):
        f = opt(f)
    return f


def redis_errors(f: F) -> F:
    """Turn a Redis error into a one-line message and exit status 1."""

    @functools.wraps(f)
    def wrapper(client: Resque, *args: Any, **kwargs: Any) -> Any:
        try:
            return f(client, *args, **kwargs)
        except redis.RedisError as exc:
            raise click.ClickException(f"Redis at {client.redis_id}: {exc}") from None

    return wrapper  # type: ignore[return-value]


def admin_client(f: F) -> F:
    """Pass the client and report Redis errors cleanly."""
    return pass_client(redis_errors(f))


# -- queues ---------------------------------------------------------------------


@main.command()
@json_option
@admin_client
def queues(client: Resque, as_json: bool) -> None:
    """List queues and their sizes."""
    sizes = client.queue_sizes()
    show(as_json, sizes, lambda: table(["QUEUE", "SIZE"], sorted(sizes.items())) or "No queues")


@main.command()
@click.argument("queue")
@window_options
@json_option
@admin_client
def peek(client: Resque, queue: str, start: int, count: int, as_json: bool) -> None:
    """Show jobs of QUEUE without removing them."""
    got = client.peek(queue, start, count)
    items = (([] if got is None else [got]) if count == 1 else got)
    rows = [(start + i, job_class(p) or "?", job_args(p) if job_class(p) else p)
            for i, p in enumerate(items)]
    show(as_json, items, lambda: table(["#", "CLASS", "ARGS"], rows, 100) or f"No jobs in {queue} from {start}")


@main.command()
@click.argument("queue")
@click.argument("class_name", metavar="CLASS")
@click.argument("args_json", metavar="[ARGS_JSON]", default="[]")
@json_option
@admin_client
def enqueue(client: Resque, queue: str, class_name: str, args_json: str, as_json: bool) -> None:
    """Push a CLASS job onto QUEUE; ARGS_JSON is a JSON array of arguments."""
    args = json_value(args_json, list, "ARGS_JSON")
    if client.enqueue_to(queue, class_name, *args) is None:
        raise click.ClickException(f"a before_enqueue hook of {class_name} refused the job")
    data = {"queue": queue, "class": class_name, "args": args}
    show(as_json, data, lambda: f"Enqueued {printable(class_name)} on {printable(queue)}")


@main.command()
@click.argument("queue")
@json_option
@admin_client
def clear(client: Resque, queue: str, as_json: bool) -> None:
    """Delete every job of QUEUE (the queue stays listed)."""
    n = client.clear_queue(queue)
    show(as_json, {"queue": queue, "cleared": n}, lambda: f"Cleared {n} jobs from {printable(queue)}")


# -- failures -------------------------------------------------------------------


def failure_json(f: Failure) -> dict[str, Any]:
    """Return the fields of a failure record, with its id and list."""
    d = f.data
    return {
        "id": f.id, "list": f.list_name, "queue": f.queue, "class": f.job_class, "args": f.args,
        "payload": f.payload, "failed_at": d.get("failed_at"), "exception": d.get("exception"),
        "error": d.get("error"), "backtrace": d.get("backtrace") or [], "worker": d.get("worker"),
        "retried_at": d.get("retried_at"), "not_a_job": f.undecodable,
        "original": shown_bytes(f.retry_payload) if f.undecodable else None,
    }


def class_label(f: Failure) -> str | None:
    """Return the class to list for a failure; an element that was no job says so."""
    return "(not a job)" if f.undecodable else f.job_class


def select_failures(backend: FailureBackend, queue: str | None, class_name: str | None,
                    start: int, count: int) -> list[Failure]:
    """Return a window of failures, oldest first, optionally of one job queue or class."""
    lists = backend.queues() or ["failed"]
    if queue is None and class_name is None and len(lists) == 1:
        return backend.all(start, count, lists[0])
    found: Iterator[Failure] = itertools.chain.from_iterable(
        backend.each(0, None, queue=name, class_name=class_name, order="asc") for name in lists)
    if queue is not None:
        found = (f for f in found if f.queue == queue)
    return list(itertools.islice(found, start, start + count))


def find_failure(client: Resque, failure_id: str) -> Failure:
    """Return the failure with this id (or unique prefix), or exit with an error."""
    f = client.failure.find(failure_id.strip().lower()) if failure_id.strip() else None
    if f is None:
        raise click.ClickException(f"no failed job with id {failure_id!r} (see 'resque failed list')")
    return f


@main.group()
def failed() -> None:
    """List, show, retry and remove failed jobs (IDs survive list changes)."""


@failed.command("list")
@click.option("-q", "--queue", help="Only failures of jobs from this queue.")
@click.option("-c", "--class", "class_name", metavar="CLASS", help="Only failures of this job class.")
@window_options
@json_option
@admin_client
def failed_list(client: Resque, queue: str | None, class_name: str | None, start: int,
                count: int, as_json: bool) -> None:
    """List failed jobs, oldest first (plugins may add columns, e.g. RETRY)."""
    client.failure.recover()  # records an interrupted bulk change left aside come back first
    found = select_failures(client.failure, queue, class_name, start, count)
    extra = plugin_columns(client, found)
    shown = {k: v for k, v in extra.items() if any(v)}  # a column with nothing to say is left out
    rows = [(f.id, f.data.get("failed_at"), f.queue, class_label(f), f.data.get("exception"),
             f.data.get("error"), "yes" if "retried_at" in f.data else "",
             *(values[i] for values in shown.values())) for i, f in enumerate(found)]
    data = [dict(failure_json(f), **{k: v[i] for k, v in extra.items()}) for i, f in enumerate(found)]
    show(as_json, data, lambda: table(
        ["ID", "FAILED AT", "QUEUE", "CLASS", "EXCEPTION", "ERROR", "RETRIED",
         *(k.upper() for k in shown)], rows) or "No failed jobs")


def plugin_columns(client: Resque, found: list[Failure]) -> dict[str, list[str]]:
    """Return the columns ``resque.failed_columns`` plugins add, by name (one text per failure)."""
    columns: dict[str, list[str]] = {}
    for name, column in extensions.load(extensions.FAILED_COLUMNS):
        try:
            values = [str(v) for v in column(client, found)]
        except Exception as exc:  # noqa: BLE001 - a plugin's column must not break the listing
            values = [f"({type(exc).__name__})"] * len(found)
        columns[name] = values if len(values) == len(found) else [""] * len(found)
    return columns


@failed.command("show")
@click.argument("failure_id", metavar="ID")
@json_option
@admin_client
def failed_show(client: Resque, failure_id: str, as_json: bool) -> None:
    """Show one failed job in full, with its backtrace."""
    data = failure_json(find_failure(client, failure_id))
    shown = ("id", "list", "queue", "original", "failed_at", "exception", "error", "worker",
             "retried_at") if data["not_a_job"] else ("id", "list", "queue", "class", "args",
             "failed_at", "exception", "error", "worker", "retried_at")
    fields = [k for k in shown if data[k] is not None]
    human = dict(data, original=f"(not a job) {data['original']}")
    show(as_json, data, lambda: "\n".join(
        [table(None, [(k + ":", human[k]) for k in fields], 1000), "backtrace:"]
        + ["  " + printable(line) for line in data["backtrace"]]))


@failed.command("retry")
@click.argument("failure_id", metavar="ID", required=False)
@click.option("--all", "retry_all", is_flag=True, help="Retry every failed job.")
@click.option("-q", "--queue", help="With --all: only jobs from this queue.")
@click.option("-c", "--class", "class_name", metavar="CLASS", help="With --all: only this class.")
@json_option
@admin_client
def failed_retry(client: Resque, failure_id: str | None, retry_all: bool, queue: str | None,
                 class_name: str | None, as_json: bool) -> None:
    """Enqueue a failed job again (ID, or --all); the record is marked retried."""
    if bool(failure_id) == retry_all or ((queue or class_name) and not retry_all):
        raise click.UsageError("give either an ID or --all (with --queue or --class to narrow it)")
    if queue and class_name:
        raise click.UsageError("--queue and --class cannot be combined")
    backend = client.failure
    if retry_all:
        n = (backend.requeue_queue(queue) if queue else
             backend.requeue_class(class_name) if class_name else backend.requeue_all())
        show(as_json, {"retried": n}, lambda: f"Retried {n} failed jobs")
        return
    f = find_failure(client, failure_id or "")
    stamp = backend.requeue(f)
    if stamp is None:
        raise click.ClickException(f"failed job {f.id} changed or vanished meanwhile; not retried")
    marked = backend.all(f.index, 1, f.list_name)
    new_id = marked[0].id if marked and marked[0].data == {**f.data, "retried_at": stamp} else None
    data = {"id": f.id, "new_id": new_id, "queue": f.queue, "class": f.job_class}
    show(as_json, data, lambda: f"Retried {f.id}: {printable(f.job_class)} on {printable(f.queue)}"
         + (f" (record marked retried, now {new_id})" if new_id else ""))


@failed.command("remove")
@click.argument("failure_id", metavar="ID")
@json_option
@admin_client
def failed_remove(client: Resque, failure_id: str, as_json: bool) -> None:
    """Delete one failed job record."""
    f = find_failure(client, failure_id)
    if not client.failure.remove(f):
        raise click.ClickException(f"failed job {f.id} changed or vanished meanwhile; not removed")
    show(as_json, {"removed": f.id}, lambda: f"Removed {f.id}")


@failed.command("clear")
@click.option("-q", "--queue", help="Only failures of jobs from this queue.")
@click.option("--retried", is_flag=True, help="Only records already retried (as the web UI's Clear retried).")
@json_option
@admin_client
def failed_clear(client: Resque, queue: str | None, retried: bool, as_json: bool) -> None:
    """Delete every failed job record (or those of one queue, or those retried)."""
    backend = client.failure
    if retried and queue:
        raise click.UsageError("give either --queue or --retried")
    if retried:
        n = backend.clear_retried()
    elif queue:
        n = backend.remove_queue(queue)
    else:
        n = backend.count()
        backend.clear()
    show(as_json, {"cleared": n}, lambda: f"Cleared {n} failed jobs")


# -- counters -------------------------------------------------------------------


@main.command()
@json_option
@admin_client
def pause(client: Resque, as_json: bool) -> None:
    """Pause every worker of this namespace (sets pause-all-workers)."""
    client.pause_all()
    show(as_json, {"paused": True}, lambda: "all workers paused")


@main.command()
@json_option
@admin_client
def resume(client: Resque, as_json: bool) -> None:
    """Let every worker of this namespace reserve jobs again."""
    client.resume_all()
    show(as_json, {"paused": False}, lambda: "all workers resumed")


@main.command()
@json_option
@admin_client
def info(client: Resque, as_json: bool) -> None:
    """Show Resque's summary: pending, processed, failed, workers, ..."""
    data = client.info()
    show(as_json, data, lambda: table(None, sorted(data.items())))


@main.command()
@json_option
@admin_client
def stats(client: Resque, as_json: bool) -> None:
    """Show the processed/failed counters, per worker, and the Redis server."""
    workers = client.workers(details=True)
    server = client.store.server_info()
    counters = {"processed": client.stats.get("processed"), "failed": client.stats.get("failed")}
    redis_info = {k: server.get(k) for k in _REDIS_FIELDS}
    data = {**counters, "redis": redis_info,
            "workers": {w.id: {"processed": w.processed, "failed": w.failed} for w in workers}}
    show(as_json, data, lambda: "\n\n".join(filter(None, [
        table(["COUNTER", "VALUE"], counters.items()),
        table(["WORKER", "PROCESSED", "FAILED"], [(w.id, w.processed, w.failed) for w in workers], 100),
        table(["REDIS", "VALUE"], redis_info.items()),
    ])))


# -- workers --------------------------------------------------------------------


def worker_json(w: WorkerInfo) -> dict[str, Any]:
    """Return a worker's registration, state and counters."""
    return {"id": w.id, "host": w.host, "pid": w.pid, "queues": w.queues, "state": w.state,
            "job": w.job, "started": w.started, "heartbeat": w.heartbeat,
            "processed": w.processed, "failed": w.failed}


@main.command("list")
@json_option
@admin_client
def list_workers(client: Resque, as_json: bool) -> None:
    """List registered workers as '<id> (<state>)', or None."""
    workers = client.workers(details=as_json)
    show(as_json, [worker_json(w) for w in workers],
         lambda: "\n".join(f"{printable(w.id)} ({w.state})" for w in workers) or "None")


@main.command()
@json_option
@admin_client
def prune(client: Resque, as_json: bool) -> None:
    """Unregister dead workers now, failing the jobs they held."""
    pruned = prune_dead_workers(client, force=True)
    show(as_json, pruned, lambda: "\n".join(f"Pruned {printable(w)}" for w in pruned)
         or "No dead workers")


@main.command()
@click.argument("worker_id", metavar="WORKER")
@json_option
@admin_client
def remove(client: Resque, worker_id: str, as_json: bool) -> None:
    """Unregister WORKER; a job it held becomes a DirtyExit failure."""
    failed_job = remove_worker(client, worker_id)
    note = " (its job was recorded as failed)" if failed_job else ""
    show(as_json, {"removed": worker_id, "failed_job": failed_job},
         lambda: f"Removed {printable(worker_id)}{note}")


@main.command()
@click.argument("worker_id", metavar="WORKER")
@click.option("--force", is_flag=True, help="Signal the pid even if its process does not look like a resque worker.")
@json_option
@admin_client
def kill(client: Resque, worker_id: str, force: bool, as_json: bool) -> None:
    """SIGKILL WORKER's process (on this host) and unregister it."""
    check = None if force else (lambda pid: pid in local_worker_pids())
    alive = kill_worker(client, worker_id, is_worker=check)
    note = "killed and removed" if alive else "was not running; removed"
    show(as_json, {"removed": worker_id, "killed": alive}, lambda: f"{printable(worker_id)} {note}")
