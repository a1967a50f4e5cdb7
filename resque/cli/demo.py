"""``resque demo``: enqueue sample jobs, drain them with workers, show the web UI."""
from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from socketserver import ThreadingMixIn
from types import FrameType
from typing import IO, Any, Callable
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import click

from ..client import Resque
from .main import CliConfig, cli_config, connection_options, main

HOST = "127.0.0.1"


@main.command()
@click.option("-j", "--jobs", "count", type=click.IntRange(min=1), default=200, show_default=True,
              help="How many sample jobs to enqueue.")
@click.option("-w", "--workers", "worker_count", type=click.IntRange(min=1), default=2,
              show_default=True, help="How many worker processes to start.")
@click.option("--web/--no-web", default=True, show_default=True,
              help="Serve the web UI after the jobs are done (until Ctrl-C).")
@click.option("-p", "--port", type=click.IntRange(0, 65535), default=5678, show_default=True,
              help="Port of the web UI on 127.0.0.1.")
@connection_options
def demo(count: int, worker_count: int, web: bool, port: int) -> None:
    """Enqueue sample jobs, work them off with real workers, then show the web UI.

    Some jobs are fast, some slow, some fail on purpose: the failures
    stay in Redis for you to look at. With no Redis configured this runs
    on the embedded server.
    """
    from .. import demo_jobs  # here, so that no other command registers the demo jobs

    config = cli_config()
    client = config.client()
    failed_before = client.failure.count()
    jobs = demo_jobs.plan(count)
    for job_class in (demo_jobs.Fast, demo_jobs.Slow, demo_jobs.Failing):
        client.enqueue_many(job_class, [args for cls, args in jobs if cls is job_class])
    click.echo(f"Enqueued {count} jobs on {', '.join(demo_jobs.QUEUES)} ({client.redis_id}).")
    previous = signal.signal(signal.SIGTERM, _interrupt)
    queues = list(demo_jobs.QUEUES)
    pool = WorkerPool(*_worker_command(config, client, demo_jobs.__name__, queues), worker_count)
    try:
        pool.start()
        click.echo(f"Started {worker_count} workers (pids {', '.join(map(str, pool.pids))}).")
        started = time.monotonic()
        done = _drain(client, pool, queues)
        failed = client.failure.count() - failed_before
        click.echo(f"Worked off {done} jobs in {time.monotonic() - started:.1f}s; " + (
            f"{failed} failed on purpose and stay in Redis (`resque failed list` shows them)."
            if failed else "none failed (the sample has failing jobs from --jobs 4 on)."))
        if web:
            _serve(client, port)
    except KeyboardInterrupt:
        click.echo("\nStopping the workers.")
    finally:
        pool.stop()
        signal.signal(signal.SIGTERM, previous)
    if client.connection.embedded:
        click.echo("The embedded Redis keeps running with the data; `resque server stop` stops it.")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _worker_command(config: CliConfig, client: Resque, app: str,
                    queues: list[str]) -> tuple[list[str], dict[str, str]]:
    """Return the workers' command line and environment (the URL stays out of argv)."""
    env = dict(os.environ)
    if config.redis:
        env["RESQUE_REDIS_URL"] = config.redis
    elif client.connection.embedded:
        env["RESQUE_REDIS_URL"] = client.connection.description
    cmd = [sys.executable, "-m", "resque", "work", "--app", app, "--queues", ",".join(queues),
           "--interval", "0.2", "--quiet"]
    return cmd + (["--namespace", config.namespace] if config.namespace else []), env


class WorkerPool:
    """Worker subprocesses in their own sessions, stopped with QUIT."""

    def __init__(self, cmd: list[str], env: dict[str, str], count: int):
        self.cmd = cmd
        self.env = env
        self.count = count
        self.procs: list[subprocess.Popen[bytes]] = []
        self.log: IO[bytes] = tempfile.TemporaryFile()

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def start(self) -> None:
        for _ in range(self.count):
            self.procs.append(subprocess.Popen(
                self.cmd, env=self.env, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                start_new_session=True))

    def alive(self) -> bool:
        return any(p.poll() is None for p in self.procs)

    def log_tail(self, lines: int = 15) -> str:
        self.log.seek(0)
        return b"\n".join(self.log.read().splitlines()[-lines:]).decode("utf-8", "replace")

    def stop(self, timeout: float = 30.0) -> None:
        """Ask each worker to finish its job and exit; kill the ones that hang."""
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGQUIT)
        for p in self.procs:
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.log.close()


def _left(client: Resque, queues: list[str], pids: list[int]) -> int:
    """Count jobs still queued or being worked on by the pool."""
    queued = sum(client.size(q) for q in queues)
    return queued + sum(1 for w in client.workers() if w.pid in pids and w.job and w.local)


def _drain(client: Resque, pool: WorkerPool, queues: list[str]) -> int:
    """Show a progress bar until the queues are empty and the pool is idle."""
    total = _left(client, queues, pool.pids)
    done = 0
    with click.progressbar(length=total, label="Working", show_pos=True, show_eta=False) as bar:
        while done < total:
            if not pool.alive():
                raise click.ClickException("the workers exited early:\n" + pool.log_tail())
            now_done = total - _left(client, queues, pool.pids)
            if now_done > done:
                bar.update(now_done - done)
                done = now_done
            else:
                time.sleep(0.05)
    return total


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's name
        pass


def _app_factory() -> Callable[[Resque], Any] | None:
    """Return the web UI's ``create_app``, or None when it is not installed."""
    for module in ("resque.web", "resque.web.app"):
        try:
            factory = getattr(importlib.import_module(module), "create_app", None)
        except ImportError:
            return None
        if factory is not None:
            return factory  # type: ignore[no-any-return]
    return None


def _serve(client: Resque, port: int) -> None:
    factory = _app_factory()
    if factory is None:
        click.echo("The web UI needs the 'web' extra (from a checkout: pip install '.[web]'); `resque web` serves it.")
        return
    try:
        server = make_server(HOST, port, factory(client), server_class=_Server,
                             handler_class=_QuietHandler)
    except OSError as exc:
        raise click.ClickException(f"cannot serve on {HOST}:{port}: {exc.strerror}; try --port") from None
    with server:
        click.echo(f"Web UI: http://{HOST}:{server.server_port}/  (Ctrl-C to stop)")
        server.serve_forever()
