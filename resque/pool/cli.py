"""``resque pool``: the pool master's command, added through an entry point."""
from __future__ import annotations

from typing import Any

import click

from .._flags import is_set
from ..client import Resque, set_client
from ..errors import ConfigurationError
from ..worker import Worker
from ..cli.apps import load_apps
from ..cli.daemon import Pidfile, daemonize
from ..cli.main import CliConfig, setup_logging
from ..cli.work import _build, _ping, _verbosity, _worker_options
from .config import PoolConfig, choose_config_file, environment, load_config
from .manager import TERM_BEHAVIORS, Pool, PoolOptions
from .notify import Notifier


@click.command("pool")
@_worker_options
@click.option("-c", "--config", "config_file", envvar="RESQUE_POOL_CONFIG", metavar="FILE",
              help="resque-pool YAML (default: resque-pool.yml, then config/resque-pool.yml).")
@click.option("-E", "--environment", "env", metavar="ENV",
              help="Config section to use (default: RACK_ENV, RAILS_ENV, RESQUE_ENV).")
@click.option("--background", is_flag=True, default=None, help="Detach and run as a daemon.")
@click.option("--pidfile", envvar="PIDFILE", type=click.Path(dir_okay=False), help="Write the master's pid here.")
@click.option("--logfile", type=click.Path(dir_okay=False), help="With --background, append logs here.")
@click.option("--term-graceful-wait", "term", flag_value="graceful_wait",
              help="On TERM, QUIT the workers and wait for them (as QUIT does).")
@click.option("--term-graceful", "term", flag_value="graceful",
              help="On TERM, QUIT the workers and exit at once (as INT does).")
@click.option("--term-immediate", "term", flag_value="immediate", default=True,
              help="On TERM, TERM the workers and exit at once (the default).")
@click.option("--stop-timeout", type=click.FloatRange(min=0), envvar="RESQUE_POOL_STOP_TIMEOUT", default=None,
              help="When waiting for workers to stop, TERM those still running after this many seconds.")
@click.option("--max-memory", type=click.IntRange(min=1), envvar="RESQUE_POOL_MAX_MEMORY", default=None,
              metavar="MB", help="Restart a worker gracefully when its RSS exceeds this many MB.")
@click.option("--memory-interval", type=click.FloatRange(min=0, min_open=True), default=5.0, hidden=True)
@click.option("--spawn-delay", type=click.FloatRange(min=0), default=0.0, help="Seconds between forks of new workers.")
@click.pass_context
def pool(ctx: click.Context, /, queues: str | None, config_file: str | None, env: str | None,
         background: bool | None, pidfile: str | None, logfile: str | None, term: str,
         stop_timeout: float | None, max_memory: int | None, memory_interval: float,
         spawn_delay: float, **params: Any) -> None:
    """Fork workers per the resque-pool config; supervise them (HUP, QUIT, INT, TERM)."""
    if queues and ctx.get_parameter_source("queues") == click.core.ParameterSource.COMMANDLINE:
        raise click.UsageError("the pool takes its queues from the config file, not --queues")
    # QUEUE/QUEUES in the environment are for 'resque work'; the config file decides here.
    load = _loader(config_file, env, params)
    try:
        load()  # a bad file is one error now, not a pool that starts empty
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None
    config = ctx.find_object(CliConfig) or CliConfig()
    client = config.client()
    load_apps(params["apps"], client.registry, params["allow"])  # once, in the master
    _ping(client)
    pid = Pidfile(pidfile)
    pid.check()
    daemon = bool(background or is_set("BACKGROUND"))
    ready = daemonize(logfile) if daemon else None
    setup_logging(_verbosity(params["verbose"]), params["quiet"])
    set_client(client)
    options = PoolOptions(term_behavior=term if term in TERM_BEHAVIORS else "immediate",
                          stop_timeout=stop_timeout,
                          max_memory=max_memory << 20 if max_memory else None,
                          memory_interval=memory_interval, handle_winch=daemon,
                          spawn_delay=spawn_delay)
    master = Pool(load, _spawner(client, params), options, Notifier())
    with pid:
        if ready is not None:
            ready()
        master.run()


def _loader(config_file: str | None, env: str | None, params: dict[str, Any]) -> Any:
    """Return a function reading the config (again on HUP), checking each queue list."""
    def load() -> PoolConfig:
        loaded = load_config(choose_config_file(config_file), environment(env))
        for queues in loaded:
            try:
                _build(queues, params)  # the same check 'resque work -q' makes
            except click.ClickException as exc:
                raise ConfigurationError(f"pool config, queue list {queues!r}: {exc.format_message()}") \
                    from None
        return loaded

    return load


def _spawner(client: Resque, params: dict[str, Any]) -> Any:
    """Return what a forked child runs: the worker ``resque work`` would build."""
    def spawn(queues: str) -> None:
        qlist, options = _build(queues, params)
        Worker(qlist, client, options).work()

    return spawn
