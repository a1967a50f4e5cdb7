"""``resque scheduler``, ``resque delayed ...`` and ``resque schedule ...``."""
from __future__ import annotations

import os
import time
from typing import Any

import click

from .._flags import is_set
from ..cli.admin import admin_client, json_option, json_value, printable, show, table, window_options
from ..cli.apps import load_apps
from ..cli.daemon import Pidfile, daemonize
from ..cli.main import cli_config, connection_options, setup_logging
from ..client import Resque, set_client
from ..errors import ResqueError
from . import delayed as d
from . import views
from .fire import enqueue_entry
from .lock import DEFAULT_TIMEOUT
from .mover import DEFAULT_BATCH, Mover
from .runner import Scheduler, SchedulerOptions
from .schedule import Entry, fetch_schedule, load_file, set_schedule
from .schedule import remove_schedule as remove_dynamic

_ENV: dict[str, Any] = {"show_envvar": True}


def _stamp(t: float | None) -> str:
    return "" if t is None else time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(t))


@click.command()
@click.option("-s", "--schedule", "schedule_file", envvar="RESQUE_SCHEDULE", **_ENV,
              type=click.Path(dir_okay=False), help="YAML or TOML file of recurring entries.")
@click.option("-D", "--dynamic", envvar="DYNAMIC_SCHEDULE", is_flag=True, default=False, **_ENV,
              help="Also fire entries stored in Redis (set_schedule) and follow their changes.")
@click.option("-E", "--environment", "env", envvar="RAILS_ENV", **_ENV,
              help="Only fire entries whose rails_env/env lists this name.")
@click.option("-i", "--interval", envvar="RESQUE_SCHEDULER_INTERVAL", type=click.FloatRange(min=0, min_open=True),
              default=5.0, **_ENV,
              help="Seconds between polls of the delayed queue.")
@click.option("-n", "--app-name", envvar="APP_NAME", help="Shown in the process title.")
@click.option("--lock-timeout", envvar="LOCK_TIMEOUT", type=click.IntRange(min=1),
              default=DEFAULT_TIMEOUT, **_ENV, help="Seconds the master lock lives without renewal.")
@click.option("--lock-prefix", envvar="RESQUE_SCHEDULER_MASTER_LOCK_PREFIX", default="", **_ENV,
              help="Prefix of the master lock key (as resque-scheduler).")
@click.option("--batch-size", envvar="DELAYED_REQUEUE_BATCH_SIZE", type=click.IntRange(min=1),
              default=DEFAULT_BATCH, **_ENV, help="Delayed items moved per atomic step.")
@click.option("-A", "--app", "apps", multiple=True, envvar="RESQUE_APP",
              help="Module or .py file defining jobs (for their hooks and queues; repeatable).")
@click.option("--allow", multiple=True, envvar="RESQUE_ALLOW", help="Dotted job class prefix to allow.")
@click.option("-B", "--background", is_flag=True, default=None, help="Detach as a daemon (BACKGROUND).")
@click.option("-P", "--pidfile", envvar="PIDFILE", type=click.Path(dir_okay=False),
              help="Write the pid here (removed on exit).")
@click.option("-l", "--logfile", envvar="LOGFILE", type=click.Path(dir_okay=False),
              help="With --background, append logs here.")
@click.option("-v", "--verbose", count=True, help="-v info (default), -vv debug.")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
@connection_options
@click.pass_context
def scheduler(ctx: click.Context, schedule_file: str | None, dynamic: bool, env: str | None,
              interval: float, app_name: str | None, lock_timeout: int, lock_prefix: str,
              batch_size: int, apps: tuple[str, ...], allow: tuple[str, ...],
              background: bool | None, pidfile: str | None, logfile: str | None,
              verbose: int, quiet: bool) -> None:
    """Move due delayed jobs to their queues and fire recurring entries (one master)."""
    if interval <= 0:
        raise click.UsageError("--interval must be above 0")
    client = cli_config().client()
    load_apps(apps, client.registry, allow)
    try:
        static = load_file(schedule_file) if schedule_file else {}
        client.store.ping()
    except ResqueError as exc:
        raise click.ClickException(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - any connection failure is one line
        raise click.ClickException(f"cannot reach Redis at {client.redis_id}: {exc}") from None
    options = SchedulerOptions(schedule_file, static, dynamic, env, interval, lock_timeout,
                               batch_size, lock_prefix, app_name)
    pid = Pidfile(pidfile)
    pid.check()
    ready = daemonize(logfile) if background or is_set("BACKGROUND") else None
    setup_logging(max(verbose, 1), quiet)
    set_client(client)
    runner = Scheduler(client, options)
    runner.install_signals()
    with pid:
        if ready is not None:
            ready()
        runner.run()


# -- resque delayed ----------------------------------------------------------------

@click.group()
def delayed() -> None:
    """Inspect and change the delayed queue (shared with resque-scheduler)."""


@delayed.command("list")
@window_options
@json_option
@admin_client
def delayed_list(client: Resque, start: int, count: int, as_json: bool) -> None:
    """List delayed seconds, oldest first, with how many jobs each holds."""
    page = views.delayed_page(client, start, count)
    rows = [(s["member"], _stamp(s["timestamp"]), s["size"],
             (s["item"] or {}).get("class") if s["size"] == 1 else "(several)")
            for s in page["seconds"]]
    show(as_json, page, lambda: (table(["TIMESTAMP", "AT", "JOBS", "CLASS"], rows)
                                 + f"\n{page['total']} seconds in all") if rows else "No delayed jobs")


@delayed.command("show")
@click.argument("timestamp")
@window_options
@json_option
@admin_client
def delayed_show(client: Resque, timestamp: str, start: int, count: int, as_json: bool) -> None:
    """Show the jobs delayed to one second (its TIMESTAMP as listed)."""
    page = views.second_page(client, timestamp, start, count)
    rows = [(start + i, it["class"] or "(unreadable)", it["args"], it["queue"])
            for i, it in enumerate(page["items"])]
    show(as_json, page, lambda: table(["#", "CLASS", "ARGS", "QUEUE"], rows, 80)
         or f"No delayed jobs at {timestamp}")


def _json(text: str, kind: type, hint: str) -> Any:
    """Decode a JSON option or argument of the given kind (list or dict), or fail usage."""
    return json_value(text, kind, hint)


def _args(args_json: str | None) -> list[Any] | None:
    return None if args_json is None else list(_json(args_json, list, "--args"))


@delayed.command("remove")
@click.argument("class_name")
@click.option("--args", "args_json", help="JSON array: remove only jobs with exactly these args.")
@click.option("--queue", help="The queue stored in the item (default: the class's own).")
@json_option
@admin_client
def delayed_remove(client: Resque, class_name: str, args_json: str | None, queue: str | None,
                   as_json: bool) -> None:
    """Remove delayed jobs of CLASS_NAME (all of them, or those with --args)."""
    args = _args(args_json)
    if args is None:
        n = d.remove_delayed_selection(client, class_name)
    else:
        q = queue if queue is not None else d.spec_of(client, class_name).queue
        n = d.remove_delayed_in_queue(client, class_name, q, *args)
    show(as_json, {"removed": n}, lambda: f"Removed {n} delayed jobs of {printable(class_name)}")


@delayed.command("enqueue-now")
@click.argument("timestamp", required=False)
@click.option("--class", "class_name", help="Enqueue every delayed job of this class instead.")
@click.option("--args", "args_json", help="With --class: only jobs with exactly these args.")
@json_option
@admin_client
def delayed_enqueue_now(client: Resque, timestamp: str | None, class_name: str | None,
                        args_json: str | None, as_json: bool) -> None:
    """Enqueue now the jobs of one second (TIMESTAMP) or of one class (--class)."""
    if (timestamp is None) == (class_name is None):
        raise click.UsageError("give a TIMESTAMP or --class (one of them)")
    if class_name is not None:
        args = _args(args_json)
        n = d.enqueue_delayed_selection(client, class_name, None if args is None else (lambda a: a == args))
    else:
        n = Mover(client, worker=f"{os.uname().nodename}:{os.getpid()}:cli").move_second(str(timestamp))
    show(as_json, {"enqueued": n}, lambda: f"Enqueued {n} delayed jobs")


@delayed.command("clear")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
@admin_client
def delayed_clear(client: Resque, yes: bool, as_json: bool) -> None:
    """Delete every delayed job."""
    if not yes and not as_json:
        click.confirm("Delete every delayed job?", abort=True)
    n = d.reset_delayed_queue(client)
    show(as_json, {"cleared": n}, lambda: f"Cleared {n} delayed jobs")


# -- resque schedule -----------------------------------------------------------------

_schedule_file = click.option("-s", "--schedule", "schedule_file", envvar="RESQUE_SCHEDULE",
                              type=click.Path(dir_okay=False),
                              help="Also show the static entries of this file.")


def _static(schedule_file: str | None) -> dict[str, Entry]:
    try:
        return load_file(schedule_file) if schedule_file else {}
    except ResqueError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def schedule() -> None:
    """Inspect and change recurring entries (static files and dynamic ones in Redis)."""


@schedule.command("list")
@_schedule_file
@click.option("-E", "--environment", "env", envvar="RAILS_ENV",
              help="Only entries whose rails_env/env lists this name.")
@json_option
@admin_client
def schedule_list(client: Resque, schedule_file: str | None, env: str | None, as_json: bool) -> None:
    """List every entry with its timing, class, queue, next and last run."""
    rows = views.schedule_rows(client, _static(schedule_file), env)
    status = views.schedulers(client)
    lines = [(r["name"], r["source"], r.get("interval", r["error"]), r.get("class_name", ""),
              r.get("queue") or "", _stamp(r.get("next_run")), r["last_enqueued_at"] or "Never")
             for r in rows]
    show(as_json, {"entries": rows, "master": status["master"]}, lambda: (
        table(["NAME", "SOURCE", "WHEN", "CLASS", "QUEUE", "NEXT", "LAST ENQUEUED"], lines)
        or "No schedule entries") + f"\nmaster: {status['master'] or 'none'}")


@schedule.command("enqueue")
@click.argument("name")
@_schedule_file
@json_option
@admin_client
def schedule_enqueue(client: Resque, name: str, schedule_file: str | None, as_json: bool) -> None:
    """Enqueue entry NAME now (its class, queue and args)."""
    entries = _static(schedule_file)
    config = fetch_schedule(client, name)
    entry = Entry.parse(name, config) if config is not None else entries.get(name)
    if entry is None:
        raise click.ClickException(f"no schedule entry named {name!r}")
    done = enqueue_entry(client, entry)
    show(as_json, {"enqueued": done, "name": name},
         lambda: f"Enqueued {entry.class_name} ({name})" if done else f"A hook stopped {name}")


@schedule.command("set")
@click.argument("name")
@click.argument("config_json")
@json_option
@admin_client
def schedule_set(client: Resque, name: str, config_json: str, as_json: bool) -> None:
    """Store dynamic entry NAME from a JSON config ({"cron": ..., "class": ...})."""
    entry = set_schedule(client, name, _json(config_json, dict, "CONFIG_JSON"))
    show(as_json, {"name": name, "config": entry.config}, lambda: f"Set {name}: {entry.interval_text()}")


@schedule.command("remove")
@click.argument("name")
@json_option
@admin_client
def schedule_remove(client: Resque, name: str, as_json: bool) -> None:
    """Remove dynamic entry NAME."""
    existed = remove_dynamic(client, name)
    if not existed and not as_json:
        raise click.ClickException(f"no dynamic schedule entry named {name!r}")
    show(as_json, {"removed": existed, "name": name}, lambda: f"Removed {name}")
