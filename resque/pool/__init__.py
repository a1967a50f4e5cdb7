"""A pool of workers forked from one preloaded app, as Ruby's resque-pool.

``resque pool --config resque-pool.yml -A myapp.jobs`` imports the app once,
then forks the configured number of workers for each queue list and
supervises them (respawn with backoff, HUP reload and roll, memory ceiling,
resque-pool's signals, pid file, ``--background``, systemd notify). The core
never imports this package; its command arrives through the
``resque.commands`` entry point.
"""
from __future__ import annotations

from .config import PoolConfig, choose_config_file, load_config
from .manager import Pool, PoolOptions

__all__ = ["Pool", "PoolConfig", "PoolOptions", "choose_config_file", "load_config"]
