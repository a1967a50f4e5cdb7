"""``resque work`` and ``resque workers``: run workers from the command line."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from typing import Any

import click

from .._flags import is_set
from ..client import set_client
from ..errors import ResqueError
from ..queues import QueueList
from ..worker import Worker, WorkerOptions
from .apps import load_apps, setup_worker
from .daemon import Pidfile, daemonize
from .main import CliConfig, main, setup_logging

_ENV_FLOAT: dict[str, Any] = {"type": float, "show_envvar": True}


def _worker_options(f: Any) -> Any:
    """Add the options shared by ``work`` and ``workers``."""
    opts = [
        click.option("-q", "--queues", envvar=["QUEUES", "QUEUE"], metavar="LIST",
                     help="Comma list of queues in priority order; '*' and globs allowed, '!q' excludes."),
        click.option("-i", "--interval", envvar="INTERVAL", default=5.0, **_ENV_FLOAT,
                     help="Seconds to sleep when the queues are empty; 0 drains and exits."),
        click.option("--min-interval", envvar="MIN_INTERVAL", default=None, **_ENV_FLOAT),
        click.option("--max-interval", envvar="MAX_INTERVAL", default=None, **_ENV_FLOAT),
        click.option("--backoff-interval", envvar="BACKOFF_INTERVAL", default=None, **_ENV_FLOAT),
        click.option("--fork/--no-fork", "fork", default=None,
                     help="Run each job in a forked child (default; FORK_PER_JOB=false disables)."),
        click.option("-A", "--app", "apps", multiple=True, envvar="RESQUE_APP",
                     help="Module or .py file to import so its jobs are registered (repeatable)."),
        click.option("--allow", "allow", multiple=True, envvar="RESQUE_ALLOW",
                     help="Dotted prefix of job classes that payloads may name (repeatable)."),
        click.option("--term-child", is_flag=True, default=None,
                     help="On TERM, send the child TERM (TermException) before KILL."),
        click.option("--graceful-term", is_flag=True, default=None, help="Treat TERM as QUIT."),
        click.option("--pre-shutdown-timeout", envvar="RESQUE_PRE_SHUTDOWN_TIMEOUT", default=None,
                     **_ENV_FLOAT),
        click.option("--term-timeout", envvar="RESQUE_TERM_TIMEOUT", default=None, **_ENV_FLOAT),
        click.option("--job-timeout", envvar="RESQUE_JOB_TIMEOUT", type=click.FloatRange(min=0),
                     default=None, show_envvar=True, metavar="SECONDS",
                     help="Stop a job that runs longer (unless its class sets its own limit); 0: none."),
        click.option("--requeue-orphans", is_flag=True, default=None,
                     help="Push jobs of pruned dead workers back to their queue instead of failing them."),
        click.option("--heartbeat-interval", type=float, default=None, hidden=True),
        click.option("--prune-interval", type=float, default=None, hidden=True),
        click.option("-v", "--verbose", count=True, help="-v info, -vv debug (LOGGING/VERBOSE/VVERBOSE)."),
        click.option("--quiet", is_flag=True, help="Only warnings and errors."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def _build(queues: str | None, params: dict[str, Any]) -> tuple[QueueList, WorkerOptions]:
    if not queues or not queues.strip():
        raise click.UsageError("no queue given: use --queues high,low or set QUEUE=high,low ('*' for all)")
    try:
        qlist = QueueList.parse(queues)
        options = WorkerOptions.from_env(
            interval=params["interval"], min_interval=params["min_interval"],
            max_interval=params["max_interval"], backoff_interval=params["backoff_interval"],
            fork=params["fork"], term_child=params["term_child"] or None,
            graceful_term=params["graceful_term"] or None,
            pre_shutdown_timeout=params["pre_shutdown_timeout"],
            term_timeout=params["term_timeout"], requeue_orphans=params["requeue_orphans"] or None,
            job_timeout=params["job_timeout"],
            heartbeat_interval=params["heartbeat_interval"], prune_interval=params["prune_interval"])
    except ResqueError as exc:
        raise click.UsageError(str(exc)) from None
    return qlist, options


def _verbosity(verbose: int) -> int:
    if verbose:
        return verbose
    return 2 if is_set("VVERBOSE") else (1 if is_set("LOGGING") or is_set("VERBOSE") else 0)


@main.command()
@_worker_options
@click.option("--background", is_flag=True, default=None, help="Detach and run as a daemon (BACKGROUND).")
@click.option("--pidfile", envvar="PIDFILE", type=click.Path(dir_okay=False), help="Write the worker's pid here.")
@click.option("--logfile", type=click.Path(dir_okay=False), help="With --background, append logs here.")
@click.option("-c", "--count", envvar="COUNT", type=click.IntRange(min=1), default=1,
              help="Run this many workers under a supervisor (as 'resque workers').")
@click.pass_context
def work(ctx: click.Context, /, queues: str | None, background: bool | None, pidfile: str | None,
         logfile: str | None, count: int, **params: Any) -> None:
    """Process jobs from QUEUES until told to stop (QUIT, TERM, INT)."""
    qlist, options = _build(queues, params)
    if count > 1:
        ctx.invoke(workers, queues=queues, count=count, **params)
        return
    config = ctx.find_object(CliConfig) or CliConfig()
    client = config.client()
    modules = load_apps(params["apps"], client.registry, params["allow"])
    _ping(client)
    pid = Pidfile(pidfile)
    pid.check()
    ready = daemonize(logfile) if background or is_set("BACKGROUND") else None
    setup_logging(_verbosity(params["verbose"]), params["quiet"])
    set_client(client)  # jobs and hooks calling resque.enqueue use the worker's Redis
    worker = Worker(qlist, client, options)
    try:
        setup_worker(modules, worker)
    except ResqueError as exc:
        raise click.ClickException(str(exc)) from None
    worker.register_signal_handlers()  # before the caller is released: an early QUIT is honoured
    with pid:
        if ready is not None:
            ready()
        worker.work()


def _ping(client: Any) -> None:
    try:
        client.store.ping()
    except Exception as exc:  # noqa: BLE001 - any connection failure is a one-line error
        raise click.ClickException(f"cannot reach Redis at {client.redis_id}: {exc}") from None


@main.command()
@_worker_options
@click.option("-c", "--count", envvar="COUNT", type=click.IntRange(min=1), default=2,
              help="How many worker processes to run.")
@click.pass_context
def workers(ctx: click.Context, /, queues: str | None, count: int, **params: Any) -> None:
    """Run COUNT supervised workers; restart any that dies; stop all on TERM/INT/QUIT."""
    _build(queues, params)
    setup_logging(_verbosity(params["verbose"]), params["quiet"])
    config = ctx.find_object(CliConfig) or CliConfig()
    _ping(config.client())  # a bad URL or a server that is not there: one error, not COUNT restart loops
    cmd = [sys.executable, "-m", "resque"]
    if config.redis:
        cmd += ["--redis", config.redis]
    if config.namespace:
        cmd += ["--namespace", config.namespace]
    cmd += ["work", "--queues", str(queues), *_forward(params)]
    Supervisor(cmd, count).run()


def _forward(params: dict[str, Any]) -> list[str]:
    """Turn parsed worker options back into ``resque work`` arguments."""
    out: list[str] = []
    for name, value in params.items():
        flag = "--" + name.replace("_", "-")
        if name == "fork" and value is not None:
            out.append("--fork" if value else "--no-fork")  # before the skip: False matters here
        elif value is None or value is False or value == () or name in ("verbose", "quiet"):
            continue
        elif value is True:
            out.append(flag)
        elif name in ("apps", "allow"):
            for v in value:
                out += ["--app" if name == "apps" else "--allow", v]
        else:
            out += [flag, str(value)]
    out += ["-v"] * params.get("verbose", 0) + (["--quiet"] if params.get("quiet") else [])
    return out


class Supervisor:
    """Keep COUNT worker processes alive; pass stop signals on to them."""

    def __init__(self, cmd: list[str], count: int):
        self.cmd = cmd
        self.count = count
        self.children: dict[int, subprocess.Popen[bytes]] = {}
        self.stopping: int | None = None

    def _stop(self, signum: int, frame: Any) -> None:
        self.stopping = signum
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGQUIT if signum == signal.SIGQUIT else signal.SIGTERM)

    def _spawn(self) -> None:
        child = subprocess.Popen(self.cmd, start_new_session=True)
        self.children[child.pid] = child
        click.echo(f"resque workers: started worker pid {child.pid}", err=True)

    def run(self) -> None:
        """Start the workers and supervise until a stop signal ends them all."""
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
            signal.signal(sig, self._stop)
        for _ in range(self.count):
            self._spawn()
        while self.children:
            for pid, child in list(self.children.items()):
                if child.poll() is None:
                    continue
                del self.children[pid]
                if child.returncode == 0:  # a clean exit (e.g. --interval 0 drained): not restarted
                    click.echo(f"resque workers: worker {pid} finished", err=True)
                elif self.stopping is None:
                    click.echo(f"resque workers: worker {pid} exited ({child.returncode}); restarting",
                               err=True)
                    time.sleep(0.5)
                    if self.stopping is None:  # a stop signal may have come during the sleep
                        self._spawn()
            time.sleep(0.1)
