"""What the plugins' hooks need from the client: their store and job specs."""
from __future__ import annotations

import inspect
from typing import Any

import redis

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
        found = PluginStore(lean_client(client.redis), PluginKeys(client.keyspace))
        client.__dict__[_STORE_ATTR] = found
    return found


def lean_client(raw: redis.Redis) -> redis.Redis:
    """Return a client on the same server whose new connections cost no extra round trip.

    A forked job process opens its own connection; redis-py's defaults
    spend three requests on it (``HELLO 3``, ``CLIENT SETINFO`` and a
    health-check ``PING``) before the plugin's one command. This client
    speaks RESP2, sends no library name and skips the health check, so a
    job that succeeds pays only its ``DEL``. A pool of another kind (e.g.
    Sentinel's) is used as it is.
    """
    pool = raw.connection_pool
    if type(pool) is not redis.ConnectionPool:
        return raw
    kwargs = dict(pool.connection_kwargs)
    kwargs.update(protocol=2, health_check_interval=0)
    accepted = {name for cls in pool.connection_class.__mro__ if "__init__" in vars(cls)
                for name in inspect.signature(vars(cls)["__init__"]).parameters}
    if "driver_info" in accepted:  # redis-py 7+: no CLIENT SETINFO
        kwargs["driver_info"] = None
    elif "lib_name" in accepted:
        kwargs.update(lib_name=None, lib_version=None)
    return redis.Redis(connection_pool=redis.ConnectionPool(
        connection_class=pool.connection_class, **kwargs))


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
