"""What the plugins' hooks need from the client: their store and job specs."""
from __future__ import annotations

from typing import Any

from ..client import Resque, job_spec
from ..job import current_job
from ..registry import JobSpec, dotted_name
from .keys import PluginKeys
from .store import PluginStore

_STORE_ATTR = "_resque_plugin_store"


def plugin_store(client: Resque) -> PluginStore:
    """Return the client's plugin store, made on first use."""
    found = client.__dict__.get(_STORE_ATTR)
    if found is None:
        found = PluginStore(client.redis, PluginKeys(client.keyspace))
        client.__dict__[_STORE_ATTR] = found
    return found


def spec_of(client: Resque, job: Any) -> JobSpec:
    """Return a job's spec: a registered object, a class, or a name (known here or not)."""
    return job if isinstance(job, JobSpec) else job_spec(client.registry, job)


def job_name(cls: type) -> str:
    """Return the wire name of a job class (its registered name, else its dotted path)."""
    spec = getattr(cls, "__resque_job__", None)
    return spec.name if isinstance(spec, JobSpec) else dotted_name(cls)


def current_queue() -> str | None:
    """Return the queue of the job whose hooks are running, if known."""
    job = current_job()
    return job.queue if job is not None and job.queue else None
