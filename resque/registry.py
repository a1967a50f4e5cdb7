"""Job names to callables: the security boundary between payloads and code.

A payload may only run a job that was registered (``@resque.job`` or
``Registry.register``) or a class with ``perform`` whose dotted path
starts with an allowed import prefix. Nothing else is ever imported.
"""
from __future__ import annotations

import difflib
import importlib
import inspect
import reprlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from .middleware import JobMiddleware
from .errors import JobNotAllowed, NoClassError, NoQueueError

HOOK_PREFIXES = (
    "before_enqueue", "after_enqueue", "before_dequeue", "after_dequeue",
    "before_perform", "around_perform", "after_perform", "on_failure",
    # resque-scheduler's, run by resque.scheduler when it schedules and moves jobs
    "before_schedule", "after_schedule", "before_delayed_enqueue",
)


@dataclass(eq=False)
class JobSpec:
    """A runnable job: its wire name, default queue and callable."""

    name: str
    target: Any
    queue: str | None = None
    options: dict[str, Any] = field(default_factory=dict, repr=False)
    _hooks: dict[str, tuple[Callable[..., Any], ...]] = field(default_factory=dict, repr=False)
    _added: dict[str, list[Callable[..., Any]]] = field(default_factory=dict, repr=False)
    _per_instance: bool | None = field(default=None, repr=False)

    @property
    def perform(self) -> Callable[..., Any]:
        """Return the callable that runs the job with its arguments.

        A class whose ``perform`` is a plain instance method gets a fresh
        instance per call; how a class is called is worked out once.
        """
        target: Any = self.target
        if not inspect.isclass(target):
            func: Callable[..., Any] = target
            return func
        if self._per_instance is None:
            self._per_instance = inspect.isfunction(inspect.getattr_static(target, "perform", None))
        owner: Any = target() if self._per_instance else target
        perform: Callable[..., Any] = owner.perform
        return perform

    def hooks(self, prefix: str) -> tuple[Callable[..., Any], ...]:
        """Return the hook methods named ``prefix*`` (Ruby order), then added hooks."""
        found = self._hooks.get(prefix)
        if found is None:
            names = getattr(self.target, "hooks", None) if inspect.isclass(self.target) else None
            if not isinstance(names, (list, tuple)):
                names = dir(self.target) if inspect.isclass(self.target) else []
            found = tuple(getattr(self.target, n) for n in sorted(n for n in names if n.startswith(prefix)))
            found += tuple(self._added.get(prefix, ()))
            self._hooks[prefix] = found
        return found

    def add_hook(self, prefix: str, fn: Callable[..., Any], first: bool = False) -> None:
        """Add a job hook from a plugin; it runs after the class's own ones.

        ``first`` puts it before every other hook of its kind (for
        ``around_perform``: outermost). Hooks get the arguments a class's
        hook method of the same kind gets.
        """
        if prefix not in HOOK_PREFIXES:
            raise ValueError(f"unknown job hook {prefix!r}; use one of {', '.join(HOOK_PREFIXES)}")
        added = self._added.setdefault(prefix, [])
        added.insert(0, fn) if first else added.append(fn)
        self._hooks.pop(prefix, None)


_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 120
_SHORT.maxlist = _SHORT.maxdict = 6
_SHORT.maxlevel = 4


def short_repr(value: Any) -> str:
    """Return ``repr(value)`` cut down to a readable length for messages."""
    return _SHORT.repr(value)


def classify(name: str) -> str:
    """Turn ``some-job`` into ``SomeJob`` as Ruby's constantize does."""
    if "-" not in name:
        return name
    return "".join(part[:1].upper() + part[1:] for part in name.split("-"))


def dotted_name(target: Any) -> str:
    """Return the default wire name of a class or function: its dotted path."""
    return f"{target.__module__}.{target.__qualname__}"


def queue_of(target: Any) -> str | None:
    """Return the queue a class declares (``queue`` attribute or method)."""
    queue = getattr(target, "queue", None)
    if callable(queue) and not isinstance(queue, str):
        queue = queue()
    return queue if isinstance(queue, str) and queue else None


class Registry:
    """Map wire names to job specs; resolve names from payloads safely."""

    def __init__(self, allowed_prefixes: Iterable[str] = ()):
        self._by_name: dict[str, JobSpec] = {}
        self._by_target: dict[int, JobSpec] = {}
        self.allowed_prefixes: list[str] = list(allowed_prefixes)
        self.middleware: list[JobMiddleware] = []

    def use(self, middleware: JobMiddleware) -> JobMiddleware:
        """Wrap every enqueue and perform of this registry's jobs (see ``middleware``).

        Adding the same object again is a no-op; the first added is outermost.
        """
        if all(m is not middleware for m in self.middleware):
            self.middleware.append(middleware)
        return middleware

    def allow(self, *prefixes: str) -> None:
        """Allow importing job classes whose dotted path starts with a prefix."""
        for p in prefixes:
            if p and p not in self.allowed_prefixes:
                self.allowed_prefixes.append(p)

    def register(self, target: Any, name: str | None = None, queue: str | None = None) -> JobSpec:
        """Register a class with ``perform`` or a function under a wire name."""
        if inspect.isclass(target) and not hasattr(target, "perform"):
            raise TypeError(f"{target.__qualname__} has no perform method")
        if not inspect.isclass(target) and not callable(target):
            raise TypeError(f"{target!r} is neither a job class nor a function")
        spec = JobSpec(name or dotted_name(target), target, queue or queue_of(target))
        if not spec.name:
            raise NoClassError("Jobs must be given a class.")
        self._by_name[spec.name] = spec
        self._by_target[id(target)] = spec
        return spec

    def names(self) -> list[str]:
        """Return the registered wire names, sorted."""
        return sorted(self._by_name)

    def near_miss(self, name: str) -> str | None:
        """Return the registered name ``name`` most likely meant, if any.

        A name that ends with a registered one (or the other way round) on
        a ``.`` or ``::`` boundary wins: the same class imported under a
        different module path. Otherwise the closest spelling.
        """
        names = self.names()
        for known in names:
            short, long_ = sorted((known, name), key=len)
            if long_.endswith(("." + short, "::" + short)):
                return known
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.75)
        return close[0] if close else None

    def _not_registered(self, name: str) -> JobNotAllowed:
        names = self.names()
        shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
        hint = self.near_miss(name)
        where = (f"; importable under: {', '.join(self.allowed_prefixes)}" if self.allowed_prefixes
                 else "" if names else "; import your jobs with resque work -A MODULE")
        return JobNotAllowed(
            f"job class {short_repr(name)} is not registered in this worker "
            f"(registered: {shown or 'none'}{where})" + (f"; did you mean {hint!r}?" if hint else ""))

    def spec_for(self, job: Any) -> JobSpec:
        """Return the spec of a job given as a registered object, a class or a spec."""
        if isinstance(job, JobSpec):
            return job
        spec = self._by_target.get(id(job)) or getattr(job, "__resque_job__", None)
        if isinstance(spec, JobSpec):
            return spec
        if inspect.isclass(job) and hasattr(job, "perform"):
            return self.register(job)
        raise TypeError(f"{job!r} is not a job: use @resque.job or a class with perform")

    def resolve(self, name: Any) -> JobSpec:
        """Return the job a payload names, or raise ``JobNotAllowed``."""
        if not isinstance(name, str) or not name:
            raise JobNotAllowed(f"payload names no job class (class={short_repr(name)})")
        if name.startswith("::"):  # Ruby's top-level constant path: ::Foo is Foo
            name = name[2:]
        spec = self._by_name.get(name) or self._by_name.get(classify(name))
        if spec is not None:
            return spec
        if "::" in name or not any(name.startswith(p) for p in self.allowed_prefixes):
            raise self._not_registered(name)
        module_name, _, attr = name.rpartition(".")
        try:
            target: Any = importlib.import_module(module_name)
            for part in attr.split("."):
                target = getattr(target, part)
        except (ImportError, AttributeError, ValueError) as exc:
            raise JobNotAllowed(f"job class {short_repr(name)} cannot be imported: "
                                f"{short_repr(str(exc))[1:-1]}") from None
        found = getattr(target, "__resque_job__", None)
        if isinstance(found, JobSpec):
            return found
        if not inspect.isclass(target) or not callable(getattr(target, "perform", None)):
            raise JobNotAllowed(f"{short_repr(name)} is not a job class (no perform method)")
        return self.register(target, name)

    def queue_for(self, spec: JobSpec, queue: str | None = None) -> str:
        """Return ``queue`` or the job's own, or raise ``NoQueueError``."""
        q = queue or spec.queue
        if not q:
            raise NoQueueError(
                f"Jobs must be placed onto a queue. No queue could be inferred for class {spec.name}")
        return q


default_registry = Registry()

