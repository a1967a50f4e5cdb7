"""The exception tree: every library error derives from ResqueError."""
from __future__ import annotations


class ResqueError(Exception):
    """Root of every error this library raises on purpose."""


class ConfigurationError(ResqueError):
    """A connection, namespace or option was given in a form we cannot use."""


class RedisUnavailable(ResqueError):
    """The Redis server could not be reached or refused the command."""


class RedisOutOfMemory(RedisUnavailable):
    """Redis refused a write: ``maxmemory`` reached under ``noeviction``."""


class NotReplicated(RedisUnavailable):
    """An enqueue reached the master but fewer replicas than asked acknowledged it in time.

    The job may or may not be kept: a failover now could drop it, or it may
    survive and run. Enqueue it again to get at-least-once delivery.
    """

    def __init__(self, message: str, acknowledged: int, wanted: int):
        super().__init__(message)
        self.acknowledged = acknowledged
        self.wanted = wanted


class CorruptValue(ResqueError, ValueError):
    """A stored value is not what the protocol says (e.g. a counter is not a number)."""

    def __init__(self, key: str, value: str):
        super().__init__(f"{key} holds {value!r}, not a number")
        self.key = key
        self.value = value


class NoQueueError(ResqueError):
    """A job has no queue, or a worker was given no queue (Ruby's name)."""


class NoClassError(ResqueError):
    """A job was given an empty class name (Ruby's name)."""


class PayloadError(ResqueError):
    """A queue element is not a decodable job payload."""


class JobNotAllowed(ResqueError):
    """A payload names a job that is not registered or not importable."""


class DontPerform(ResqueError):
    """Raised by a ``before_perform`` hook to skip the job quietly."""


class DirtyExit(ResqueError):
    """A job's process ended without reporting (Ruby's ``Resque::DirtyExit``)."""

    ruby_name = "Resque::DirtyExit"

    def __init__(self, message: str = "Job still being processed", status: int | None = None):
        super().__init__(message)
        self.status = status


class PruneDeadWorkerDirtyExit(DirtyExit):
    """A dead worker was pruned while it held a job."""

    ruby_name = "Resque::PruneDeadWorkerDirtyExit"

    def __init__(self, worker_id: str, job_class: str | None):
        super().__init__(
            f"Worker {worker_id} did not gracefully exit while processing "
            f"{job_class or '<Unknown Job>'}"
        )


class WorkerChanged(ResqueError):
    """A worker's job record changed while it was being unregistered: it is alive after all."""


class PoisonJob(ResqueError):
    """A job whose worker died while running it too many times; it is not requeued again."""

    def __init__(self, worker_id: str, job_class: str | None, deaths: int):
        super().__init__(
            f"Worker {worker_id} died while processing {job_class or '<Unknown Job>'}; "
            f"{deaths} workers have died running this job, so it is failed, not requeued again"
        )
        self.deaths = deaths


class TermException(BaseException):
    """Raised inside a job when the worker asks it to stop (TERM_CHILD).

    It derives from BaseException so that ``except Exception`` in a job
    cannot swallow a shutdown, as Ruby's ``SignalException`` subclass.
    """

    ruby_name = "Resque::TermException"


class JobTimeout(BaseException):
    """A job ran past its time limit: raised inside it, or recorded when it was killed.

    Like ``TermException`` it derives from BaseException, so that a job's
    ``except Exception`` cannot swallow it.
    """


def exception_name(exc: BaseException) -> str:
    """Return the name a failure record shows for ``exc``."""
    ruby = getattr(type(exc), "ruby_name", None)
    if isinstance(ruby, str):
        return ruby
    cls = type(exc)
    if cls.__module__ in ("builtins", "__main__"):
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"
