"""``resque work`` and ``resque workers``: run workers from the command line."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable

import click

from .._flags import is_set
from ..client import set_client
from ..errors import ResqueError
from ..logs import FORMATS
from ..queues import QueueList
from ..worker import Worker, WorkerOptions
from .apps import load_apps, log_registered, setup_worker
from .daemon import Pidfile, check_logfile, daemonize
from .main import CliConfig, cli_config, connection_options, main, setup_logging

logger = logging.getLogger(__name__)
_SECONDS = click.FloatRange(min=0)
_POSITIVE = click.FloatRange(min=0, min_open=True)


def _seconds(name: str, envvar: str | None, help: str, kind: Any = _SECONDS,
             hidden: bool = False) -> Callable[[Any], Any]:
    return click.option(name, envvar=envvar, type=kind, default=None, show_envvar=bool(envvar),
                        metavar="SECONDS", hidden=hidden, help=help)


def _worker_options(f: Any) -> Any:
    """Add the options shared by ``work`` and ``workers``."""
    opts = [
        click.option("-q", "--queues", envvar=["QUEUES", "QUEUE"], metavar="LIST", show_envvar=True,
                     help="Comma list of queues in priority order; '*' and globs allowed, '!q' excludes."),
        click.option("-i", "--interval", envvar="INTERVAL", type=_SECONDS, default=5.0,
                     show_envvar=True, metavar="SECONDS",
                     help="Seconds to sleep when the queues are empty; 0 drains and exits."),
        _seconds("--min-interval", "MIN_INTERVAL",
                 "Shortest sleep after a job ran (the back-off starts here).  [default: --interval]"),
        _seconds("--max-interval", "MAX_INTERVAL",
                 "Longest sleep the back-off grows to.  [default: --interval]"),
        _seconds("--backoff-interval", "BACKOFF_INTERVAL",
                 "Seconds added to the sleep after each empty pass.  [default: 0.1]"),
        click.option("--fork/--no-fork", "fork", default=None, show_default=False,
                     help="Run each job in a forked child (default; FORK_PER_JOB=false disables)."),
        click.option("-A", "--app", "apps", multiple=True, envvar="RESQUE_APP", show_envvar=True,
                     metavar="MODULE", help="Module or .py file to import so its jobs are registered (repeatable)."),
        click.option("--allow", "allow", multiple=True, envvar="RESQUE_ALLOW", show_envvar=True,
                     metavar="PREFIX", help="Dotted prefix of job classes that payloads may name (repeatable)."),
        click.option("--term-child", is_flag=True, default=None,
                     help="On TERM, send the child TERM (TermException) before KILL (TERM_CHILD)."),
        click.option("--graceful-term", is_flag=True, default=None,
                     help="Treat TERM as QUIT (GRACEFUL_TERM)."),
        _seconds("--pre-shutdown-timeout", "RESQUE_PRE_SHUTDOWN_TIMEOUT",
                 "On TERM, let the running job finish for this long first.  [default: 0]"),
        _seconds("--term-timeout", "RESQUE_TERM_TIMEOUT",
                 "With --term-child: how long the child has after TERM before KILL.  [default: 4]"),
        click.option("--job-timeout", envvar="RESQUE_JOB_TIMEOUT", type=click.FloatRange(min=0),
                     default=None, show_envvar=True, metavar="SECONDS",
                     help="Stop a job that runs longer (unless its class sets its own limit); 0: none."),
        click.option("--jobs-per-fork", envvar="JOBS_PER_FORK", type=click.IntRange(min=1),
                     default=None, show_envvar=True, metavar="N",
                     help="Let each forked child run up to N jobs before it exits.  [default: 1]"),
        click.option("--minutes-per-fork", envvar="MINUTES_PER_FORK", type=_POSITIVE,
                     default=None, show_envvar=True, metavar="MINUTES",
                     help="Let each forked child take jobs for this long (with or without --jobs-per-fork)."),
        click.option("--requeue-orphans", is_flag=True, default=None,
                     help="Push jobs of pruned dead workers back to their queue instead of failing them."),
        _seconds("--heartbeat-interval", None, "Seconds between heartbeats.", _POSITIVE, hidden=True),
        _seconds("--prune-interval", None, "Seconds between dead-worker prunes.", _POSITIVE, hidden=True),
        click.option("-v", "--verbose", count=True, show_default=False,
                     help="-v info, -vv debug (LOGGING/VERBOSE/VVERBOSE)."),
        click.option("--quiet", is_flag=True, help="Only warnings and errors."),
        click.option("--log-format", type=click.Choice(FORMATS), default="text",
                     envvar="RESQUE_LOG_FORMAT", show_envvar=True, show_default=True,
                     help="json: one JSON object per line, with a line per job "
                          "(worker, queue, class, duration, outcome)."),
        connection_options,
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def _daemon_options(f: Any) -> Any:
    """Add ``--background``, ``--pidfile`` and ``--logfile``."""
    opts = [
        click.option("--background", is_flag=True, default=None,
                     help="Detach and run as a daemon (BACKGROUND)."),
        click.option("--pidfile", envvar="PIDFILE", show_envvar=True, type=click.Path(dir_okay=False),
                     help="Write the pid here (removed on exit)."),
        click.option("--logfile", type=click.Path(dir_okay=False),
                     help="With --background, append the logs here."),
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
            job_timeout=params["job_timeout"], jobs_per_fork=params["jobs_per_fork"],
            minutes_per_fork=params["minutes_per_fork"],
            heartbeat_interval=params["heartbeat_interval"], prune_interval=params["prune_interval"])
    except ResqueError as exc:
        raise click.UsageError(str(exc)) from None
    return qlist, options


def _verbosity(verbose: int) -> int:
    if verbose:
        return verbose
    return 2 if is_set("VVERBOSE") else (1 if is_set("LOGGING") or is_set("VERBOSE") else 0)


@dataclass
class Daemon:
    """The ``--background``/``--pidfile``/``--logfile`` settings, checked up front."""

    background: bool
    pidfile: Pidfile
    logfile: str | None

    @classmethod
    def checked(cls, background: bool | None, pidfile: str | None, logfile: str | None) -> "Daemon":
        """Refuse an unusable pid file or log file before anything detaches."""
        daemon = cls(bool(background) or is_set("BACKGROUND"), Pidfile(pidfile), logfile)
        daemon.pidfile.check()
        daemon.pidfile.check_writable()
        if logfile:
            if not daemon.background:
                raise click.UsageError("--logfile only applies with --background")
            check_logfile(logfile)
        return daemon

    def detach(self) -> Callable[[], None] | None:
        """Daemonize when asked; return the call that releases the caller."""
        return daemonize(self.logfile) if self.background else None


@main.command()
@_worker_options
@_daemon_options
@click.option("-c", "--count", envvar="COUNT", show_envvar=True, type=click.IntRange(min=1), default=1,
              help="Run this many workers under a supervisor (as 'resque workers').")
@click.pass_context
def work(ctx: click.Context, /, queues: str | None, background: bool | None, pidfile: str | None,
         logfile: str | None, count: int, **params: Any) -> None:
    """Process jobs from QUEUES until told to stop (QUIT, TERM, INT)."""
    qlist, options = _build(queues, params)
    if count > 1:
        ctx.invoke(workers, queues=queues, count=count, background=background, pidfile=pidfile,
                   logfile=logfile, **params)
        return
    daemon = Daemon.checked(background, pidfile, logfile)
    client = cli_config().client()
    modules = load_apps(params["apps"], client.registry, params["allow"])
    _ping(client)
    ready = daemon.detach()
    setup_logging(_verbosity(params["verbose"]), params["quiet"], params["log_format"])
    log_registered(client.registry)
    set_client(client)  # jobs and hooks calling resque.enqueue use the worker's Redis
    worker = Worker(qlist, client, options)
    try:
        setup_worker(modules, worker)
    except ResqueError as exc:
        raise click.ClickException(str(exc)) from None
    worker.register_signal_handlers()  # before the caller is released: an early QUIT is honoured
    with daemon.pidfile:
        if ready is not None:
            ready()
        try:
            worker.work()
        finally:
            ignore_late_signals()


def ignore_late_signals() -> None:
    """Ignore the worker's control signals once it has stopped.

    At interpreter shutdown Python puts its handlers back to the defaults,
    which end the process (USR1, USR2) or dump core (QUIT); a signal sent to
    a worker that is already on its way out must not turn exit 0 into that.
    """
    for sig in (signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGCONT):
        signal.signal(sig, signal.SIG_IGN)


def _ping(client: Any) -> None:
    try:
        client.store.ping()
    except Exception as exc:  # noqa: BLE001 - any connection failure is a one-line error
        raise click.ClickException(f"cannot reach Redis at {client.redis_id}: {exc}") from None


@main.command()
@_worker_options
@_daemon_options
@click.option("-c", "--count", envvar="COUNT", show_envvar=True, type=click.IntRange(min=1), default=2,
              help="How many worker processes to run.")
def workers(queues: str | None, count: int, background: bool | None, pidfile: str | None,
            logfile: str | None, **params: Any) -> None:
    """Run COUNT supervised workers; restart any that stops; stop all on TERM/INT/QUIT."""
    _, options = _build(queues, params)
    daemon = Daemon.checked(background, pidfile, logfile)
    config = cli_config()
    _ping(config.client())  # a bad URL or a server that is not there: one error, not COUNT restart loops
    cmd = [sys.executable, "-m", "resque", "work", "--queues", str(queues), *_forward(params)]
    if config.namespace:
        cmd += ["--namespace", config.namespace]
    supervisor = Supervisor(cmd, count, _child_env(config), drain=options.interval == 0)
    ready = daemon.detach()
    setup_logging(_verbosity(params["verbose"]), params["quiet"], params["log_format"])
    with daemon.pidfile:
        supervisor.run(ready)


def _child_env(config: CliConfig) -> dict[str, str]:
    """Return the workers' environment: the Redis URL travels here, not in argv."""
    env = dict(os.environ)
    if config.redis:
        env["RESQUE_REDIS_URL"] = config.redis
    return env


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
    """Keep COUNT worker processes alive until told to stop; pass stop signals on.

    A worker that exits, for any reason and with any status, is started
    again, after a delay that doubles (up to ``max_delay``) while workers
    keep dying young, so a crash loop does not spin. In drain mode
    (``--interval 0``) a clean exit means the queues are empty: not restarted.
    """

    def __init__(self, cmd: list[str], count: int, env: dict[str, str] | None = None,
                 drain: bool = False, base_delay: float = 0.5, max_delay: float = 30.0,
                 stable_after: float = 10.0):
        self.cmd = cmd
        self.count = count
        self.env = env
        self.drain = drain
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.stable_after = stable_after
        self.delay = base_delay
        self.children: dict[int, tuple[subprocess.Popen[bytes], float]] = {}
        self.pending: list[float] = []  # monotonic times at which to start a worker
        self.stopping: int | None = None

    def _stop(self, signum: int, frame: Any) -> None:
        self.stopping = signum
        self.pending.clear()
        for child, _ in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGQUIT if signum == signal.SIGQUIT else signal.SIGTERM)

    def _spawn(self) -> None:
        child = subprocess.Popen(self.cmd, env=self.env, start_new_session=True)
        self.children[child.pid] = (child, time.monotonic())
        click.echo(f"resque workers: started worker pid {child.pid}", err=True)

    def _reap(self, now: float) -> None:
        for pid, (child, started) in list(self.children.items()):
            if child.poll() is None:
                continue
            del self.children[pid]
            if self.stopping is not None:
                continue
            if self.drain and child.returncode == 0:
                click.echo(f"resque workers: worker {pid} finished (queues drained)", err=True)
                continue
            lived = now - started
            self.delay = (self.base_delay if lived >= self.stable_after
                          else min(self.max_delay, max(self.base_delay, self.delay * 2)))
            click.echo(f"resque workers: worker {pid} exited ({child.returncode}) after {lived:.1f}s;"
                       f" restarting in {self.delay:.1f}s", err=True)
            self.pending.append(now + self.delay)

    def run(self, ready: Callable[[], None] | None = None) -> None:
        """Start the workers and supervise until a stop signal ends them all."""
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
            signal.signal(sig, self._stop)
        for _ in range(self.count):
            self._spawn()
        if ready is not None:
            ready()
        while self.children or (self.pending and self.stopping is None):
            now = time.monotonic()
            self._reap(now)
            due = [t for t in self.pending if t <= now]
            if due and self.stopping is None:
                self.pending = [t for t in self.pending if t > now]
                for _ in due:
                    self._spawn()
            time.sleep(0.1)
