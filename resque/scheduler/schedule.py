"""Recurring schedule entries: the config format, files and dynamic schedules.

An entry is resque-scheduler's config hash (reference section 3.1):
``cron`` or ``every`` (a string, or ``[value, {options}]``), ``class``,
``queue``, ``args``, ``description``, ``rails_env``/``env``,
``custom_job_class``, ``parameters``. Files are YAML (what
resque-scheduler users already have) or TOML; dynamic entries live in
Redis (``persistent_schedules``) where every process sees them.
"""
from __future__ import annotations

import re
import time
from datetime import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._compat import dumps, loads
from ..client import Resque
from ..keys import started_at
from .cron import Cron, Every, parse_duration
from .delayed import splat_args, store_of
from .errors import ScheduleError

Config = dict[str, Any]
KNOWN_OPTIONS = ("first_in", "first_at", "last_in", "last_at", "times")


@dataclass
class Entry:
    """One named recurring entry, parsed from its config hash."""

    name: str
    config: Config
    kind: str = ""  # cron | every | "" (manual only)
    value: str = ""
    options: Config = field(default_factory=dict)

    @classmethod
    def parse(cls, name: str, config: Any) -> "Entry":
        """Read a config hash; raise ``ScheduleError`` on what cannot work."""
        if not isinstance(config, dict):
            raise ScheduleError(f"schedule {name!r}: its config must be a mapping, not {config!r}")
        config = {str(k): v for k, v in config.items()}
        entry = cls(name, config)
        for kind in ("cron", "every"):
            raw = config.get(kind)
            value, options = (raw[0], raw[1]) if _with_options(raw) else \
                (raw[0] if isinstance(raw, list) and raw else raw, {})
            if value not in (None, ""):
                entry.kind, entry.value, entry.options = kind, str(value), dict(options)
                break
        if not isinstance(config.get("class", name), str):
            raise ScheduleError(f"schedule {name!r}: class must be a string")
        entry.trigger()  # validate now, not in the scheduler loop
        return entry

    @property
    def class_name(self) -> str:
        return str(self.config.get("class") or self.name)

    @property
    def queue(self) -> str | None:
        q = self.config.get("queue")
        return str(q) if q not in (None, "") else None

    @property
    def args(self) -> list[Any]:
        """The job's arguments as Ruby splats ``args``: Hash one, Array many, nil none."""
        return splat_args(self.config.get("args"))

    @property
    def description(self) -> str:
        return str(self.config.get("description") or "")

    @property
    def envs(self) -> list[str] | None:
        raw = self.config.get("rails_env", self.config.get("env"))
        return None if raw is None else [e for e in re.split(r"[\s,]+", str(raw)) if e]

    def enabled(self, env: str | None) -> bool:
        """Return True unless ``rails_env``/``env`` excludes ``env``."""
        envs = self.envs
        return envs is None or (env is not None and env in envs)

    def trigger(self) -> Cron | Every | None:
        """Return the parsed cron or interval (None for a manual-only entry)."""
        try:
            if self.kind == "cron":
                return Cron(self.value)
            if self.kind == "every":
                return Every(self.value)
        except ScheduleError as exc:
            raise ScheduleError(f"schedule {self.name!r}: {exc}") from None
        return None

    def first_at(self, loaded: float) -> float | None:
        """Return the moment ``first_in``/``first_at`` sets, or None; a past one is refused."""
        if "first_in" in self.options:
            return loaded + parse_duration(self.options["first_in"])
        if "first_at" in self.options:
            at = time_of(self.options["first_at"])
            if at < loaded:
                raise ScheduleError(f"schedule {self.name!r}: cannot set first_at in the past")
            return at
        return None

    def interval_text(self) -> str:
        """Describe the timing as Ruby's Schedule page does."""
        if not self.kind:
            return "Not currently scheduled"
        extra = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in self.options.items())
        return f"{self.kind}: {self.value}" + (f" ({extra})" if extra else "")


def _with_options(raw: Any) -> bool:
    return isinstance(raw, list) and len(raw) == 2 and isinstance(raw[1], dict)


def time_of(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp()
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ScheduleError(f"first_at {value!r} is not a time") from None


def parse_schedule(table: Any) -> dict[str, Entry]:
    """Parse a whole name -> config table (a file's content)."""
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise ScheduleError("a schedule must map entry names to configs")
    return {str(name): Entry.parse(str(name), config) for name, config in table.items()}


def load_file(path: str | Path) -> dict[str, Entry]:
    """Read a schedule from a YAML (``.yml``/``.yaml``) or TOML (``.toml``) file."""
    p = Path(path)
    try:
        body = p.read_text("utf-8")
    except OSError as exc:
        raise ScheduleError(f"cannot read schedule file {p}: {exc.strerror}") from None
    try:
        if p.suffix == ".toml":
            import tomllib
            table: Any = tomllib.loads(body)
        else:
            import yaml
            table = yaml.safe_load(body)
    except ImportError as exc:
        raise ScheduleError(f"reading {p} needs {exc.name}: install the 'scheduler' extra "
                            "(pip install '.[scheduler]' from a checkout)") from None
    except Exception as exc:  # noqa: BLE001 - yaml's errors do not share a base with ValueError
        raise ScheduleError(f"schedule file {p} cannot be parsed: {exc}") from None
    return parse_schedule(table)


# -- dynamic schedules in Redis --------------------------------------------------

def set_schedule(client: Resque, name: str, config: Config) -> Entry:
    """Store an entry in ``persistent_schedules`` for every scheduler to see.

    The config is validated first (a bad cron is refused here, not in the
    scheduler); ``persist`` is dropped, as Ruby stores it.
    """
    config = {str(k): v for k, v in config.items() if str(k) != "persist"}
    entry = Entry.parse(name, config)
    store_of(client).set_schedule(name, dumps(config))
    return entry


def remove_schedule(client: Resque, name: str) -> bool:
    """Delete a dynamic entry; return True if it existed."""
    return store_of(client).remove_schedule(name)


def fetch_schedule(client: Resque, name: str) -> Config | None:
    """Return one dynamic entry's config, or None."""
    raw = store_of(client).persistent_schedule(name)
    return None if raw is None else _config(raw)


def get_schedules(client: Resque) -> dict[str, Config]:
    """Return every dynamic entry's config, by name."""
    return {name: c for name, raw in sorted(store_of(client).persistent_schedules().items())
            if (c := _config(raw)) is not None}


def _config(raw: bytes) -> Config | None:
    try:
        value = loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def last_enqueued_stamp(t: float | None = None) -> str:
    """Format ``delayed:last_enqueued_at`` as Ruby's ``Time#to_s``, local zone."""
    return started_at(time.time() if t is None else t)
