"""The resque-pool YAML file: queue lists mapped to worker counts, per environment.

The same file a Ruby shop gives resque-pool::

    foo: 1
    "foo,bar,baz": 4
    production:
      "foo,bar,baz": 10

Top-level entries are the defaults; the section named by the environment
(``-E``, else ``RACK_ENV``, ``RAILS_ENV``, ``RESQUE_ENV``) is merged over
them; other sections are ignored. ERB (``<%= %>``) is not evaluated.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError

DEFAULT_FILES = ("resque-pool.yml", "config/resque-pool.yml")
ENV_VARS = ("RACK_ENV", "RAILS_ENV", "RESQUE_ENV")

PoolConfig = dict[str, int]


def choose_config_file(given: str | None = None) -> Path:
    """Return the config file: the one given, RESQUE_POOL_CONFIG, else a default."""
    name = given or os.environ.get("RESQUE_POOL_CONFIG")
    if name:
        return Path(name)
    for candidate in DEFAULT_FILES:
        if Path(candidate).is_file():
            return Path(candidate)
    raise ConfigurationError(
        f"no pool config: give --config FILE or RESQUE_POOL_CONFIG, or create {DEFAULT_FILES[0]}")


def environment(given: str | None = None) -> str | None:
    """Return the environment whose section applies (-E, then RACK/RAILS/RESQUE_ENV)."""
    if given:
        return given
    return next((os.environ[v] for v in ENV_VARS if os.environ.get(v)), None)


def load_config(path: Path, env: str | None = None) -> PoolConfig:
    """Read the file; return queue list -> worker count for ``env``."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigurationError(f"cannot read pool config {path}: {exc.strerror}") from None
    if "<%" in text:
        raise ConfigurationError(f"pool config {path}: ERB templates are not evaluated; write plain YAML")
    return parse_config(text, str(path), env)


def parse_config(text: str, name: str, env: str | None = None) -> PoolConfig:
    """Parse YAML text into queue list -> worker count for ``env``."""
    try:
        import yaml  # the pool's own dependency (resque[pool])
    except ImportError:
        raise ConfigurationError("the pool needs PyYAML: install the 'pool' extra "
                                 "(pip install '.[pool]' from a checkout)") from None
    try:
        raw: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"pool config {name} is not valid YAML: {exc}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigurationError(f"pool config {name} must map queue lists to worker counts")
    merged = dict(raw)
    section = raw.get(env) if env else None
    if isinstance(section, dict):
        merged.update(section)
    return {str(k): _count(name, k, v) for k, v in merged.items() if not isinstance(v, dict)}


def _count(name: str, queues: Any, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(
            f"pool config {name}: {queues!r} must map to a worker count (a whole number >= 0), "
            f"not {value!r}")
    if not str(queues).strip():
        raise ConfigurationError(f"pool config {name}: empty queue list")
    return value
