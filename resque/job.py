"""A reserved job: its queue and payload, run with Ruby's perform hooks."""
from __future__ import annotations

import inspect
import logging
from contextvars import ContextVar
from typing import Any, Callable

from ._accel import decode_payload, encode_payload
from .errors import DontPerform, JobNotAllowed, PayloadError, ResqueError
from .failure.base import FailureBackend
from .middleware import performing
from .payload import UNDECODABLE, job_args, job_class
from .registry import JobSpec, Registry, default_registry, short_repr

logger = logging.getLogger(__name__)

__all__ = ["Job", "JobArgumentError", "current_job", "decode_payload", "encode_payload",
           "run_hooks"]

# The job whose perform or failure hooks are running (for plugins' hooks,
# which get only the arguments).
_current: ContextVar["Job | None"] = ContextVar("resque_current_job", default=None)


def current_job() -> "Job | None":
    """Return the job whose perform or failure hooks are running, if any."""
    return _current.get()


class JobArgumentError(ResqueError, TypeError):
    """A job was called with arguments its ``perform`` does not accept."""


def run_hooks(hooks: tuple[Callable[..., Any], ...], *args: Any) -> list[Any]:
    """Call every hook with ``args``; return their results."""
    return [hook(*args) for hook in hooks]


def _call(spec: JobSpec, args: list[Any]) -> Any:
    perform = spec.perform
    try:
        return perform(*args)
    except TypeError as exc:
        try:
            inspect.signature(perform).bind(*args)
        except TypeError as bind_error:
            raise JobArgumentError(
                f"wrong arguments for job {spec.name}: {bind_error} (got {len(args)})"
            ) from exc
        except ValueError:
            pass
        raise


class Job:
    """A job taken from a queue: the queue name and the decoded payload.

    ``raw`` is the payload's JSON exactly as it was queued, when known; a
    failure record then keeps those bytes instead of re-encoding them.
    ``registry`` is where the job's name resolves when ``perform`` is given
    none (the reserving client's; else the default registry).
    """

    __slots__ = ("queue", "payload", "raw", "registry", "_spec", "_failed")

    def __init__(self, queue: str, payload: Any, raw: bytes | None = None,
                 registry: Registry | None = None):
        self.queue = queue
        self.payload = payload
        self.raw = raw
        self.registry = registry
        self._spec: JobSpec | None = None
        self._failed = False

    def __repr__(self) -> str:
        return f"Job({short_repr(self.queue)}, {short_repr(self.name)}, {short_repr(self.args)})"

    @property
    def name(self) -> str | None:
        return job_class(self.payload)

    @property
    def args(self) -> list[Any]:
        return job_args(self.payload)

    def spec(self, registry: Registry | None = None) -> JobSpec:
        """Resolve the payload's class name, or raise ``JobNotAllowed``."""
        if self._spec is None:
            if self.name == UNDECODABLE:
                raise PayloadError(f"{UNDECODABLE} stands for a queue element that was not a job; "
                                   "retry its failure record with resque to push the original back")
            self._spec = (registry or self.registry or default_registry).resolve(self.name)
        return self._spec

    def perform(self, registry: Registry | None = None) -> bool:
        """Run the job with its hooks; return False if a hook skipped it.

        Jobs resolve in ``registry``, else the registry of the client that
        reserved the job, else the default registry.

        Order: before_perform*, around_perform* (first is outermost),
        perform, after_perform*. On any exception the on_failure* hooks run
        once and the exception propagates. The registry's middleware, if
        any, wraps it all.
        """
        registry = registry or self.registry or default_registry
        if registry.middleware:
            with performing(registry.middleware, self):
                return self._perform(registry)
        return self._perform(registry)

    def _perform(self, registry: Registry) -> bool:
        token = _current.set(self)
        try:
            spec = self.spec(registry)
            args = self.args
            try:
                run_hooks(spec.hooks("before_perform"), *args)
            except DontPerform:
                return False
            ran = False

            def innermost() -> None:
                nonlocal ran
                _call(spec, args)
                ran = True

            call = innermost
            for hook in reversed(spec.hooks("around_perform")):
                call = (lambda h, inner: lambda: h(*args, inner))(hook, call)
            call()
            if not ran:
                return False
            run_hooks(spec.hooks("after_perform"), *args)
            return True
        except BaseException as exc:
            self.run_failure_hooks(exc, registry)
            raise
        finally:
            _current.reset(token)

    def run_failure_hooks(self, exc: BaseException, registry: Registry | None = None) -> None:
        """Run on_failure* hooks once per job; skip if the class is unknown.

        A hook that raises is logged; the job's own exception is what the
        failure record keeps.
        """
        if self._failed:
            return
        self._failed = True
        try:
            spec = self.spec(registry)
        except (JobNotAllowed, PayloadError):
            return
        token = _current.set(self)
        try:
            for hook in spec.hooks("on_failure"):
                try:
                    hook(exc, *self.args)
                except Exception:  # noqa: BLE001 - the job's own error is what gets recorded
                    logger.exception("on_failure hook %s of %s raised while handling %r",
                                     getattr(hook, "__name__", hook), spec.name, exc)
        finally:
            _current.reset(token)

    def fail(self, exc: BaseException, registry: Registry, backend: FailureBackend,
             worker: str = "") -> bytes:
        """Run failure hooks and record the failure; return the record."""
        self.run_failure_hooks(exc, registry)
        if self.raw is None:
            return backend.record(exc, worker, self.queue, self.payload)
        return backend.record(exc, worker, self.queue, self.payload, raw=self.raw)
