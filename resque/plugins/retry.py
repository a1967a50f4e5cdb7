"""Retries with backoff, compatible with resque-retry 1.8.

A failing job re-enqueues itself (at once, or later through the delayed
queue) until its retry limit, counting attempts in resque-retry's key
``resque-retry:<Class>[:<sha1 of the args>]`` so a Ruby class and a
Python job of the same name agree. Declare it per job with
``@resque.job(retry=Retry(...))`` or with class attributes through
``RetryMixin`` (``retry_limit``, ``retry_delay``, ...); ``ExponentialBackoff``
has resque-retry's backoff defaults.

Attempts are counted when an attempt fails (``SETNX -1``, ``INCR``), not
before it runs as Ruby does, so a job that succeeds costs one round trip
(``DEL`` of the counter); the counter's values are Ruby's either way.
The decision is made where the failure is noticed: the job's process,
or the worker (or pruner) when the process died. It is attached to the
exception for the suppression failure backend (``suppression.py``).
"""
from __future__ import annotations

import inspect
import logging
import random
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from ..client import Resque, get_client
from ..errors import ConfigurationError
from ..registry import JobSpec
from ..scheduler import push_delayed
from .context import current_queue, job_name, plugin_store, spec_of
from .keys import PluginKeys
from .ruby import sha1_identifier

logger = logging.getLogger(__name__)

BACKOFF = (0, 60, 600, 3600, 10800, 21600)  # resque-retry's ExponentialBackoff strategy
_DECISION = "_resque_retry_decision"

Delay = float | Sequence[float] | Callable[[int, BaseException], float]
Check = Callable[..., Any]


@dataclass(frozen=True)
class Decision:
    """What the retry plugin decided about one failed attempt."""

    retry_name: str  # the retry key without the namespace
    attempt: int
    retried: bool
    delay: float = 0.0
    queue: str | None = None


def decision_of(exc: BaseException) -> Decision | None:
    """Return the retry decision attached to an exception, if any."""
    found = getattr(exc, _DECISION, None)
    return found if isinstance(found, Decision) else None


def _attach(exc: BaseException, decision: Decision) -> None:
    try:
        setattr(exc, _DECISION, decision)
    except (AttributeError, TypeError):  # an exception without a __dict__: nothing is suppressed
        logger.debug("cannot attach a retry decision to %r", exc)


def _classes(value: Any) -> tuple[type[BaseException], ...] | None:
    if value is None:
        return None
    if isinstance(value, type):
        return (value,)
    return tuple(value)


def _pick(values: Sequence[float], attempt: int) -> float:
    """Return ``values[attempt]``, or the last value past the end (Ruby's rule)."""
    if not values:
        return 0.0
    return float(values[min(max(attempt, 0), len(values) - 1)])


class Retry:
    """Retry a failing job up to ``limit`` times (job option ``retry=``).

    ``limit``: retries allowed (0 never, negative forever; default 1, or
    the longest delay list of an ``exceptions`` mapping). ``delay``:
    seconds before a retry: a number, a list indexed by attempt (the last
    value past its end) or ``delay(attempt, exc)``. ``exceptions``: the
    classes to retry (subclasses too), or a mapping class -> delay (or
    list of delays); ``fatal``: classes never retried (not both).
    ``ignore``: exact classes whose failure does not count as an attempt.
    ``retry_if``: checks ``check(exc, *args)``; one returning true retries
    an exception the lists do not. ``queue``: the retry's queue (or
    ``queue(exc, *args)``); default the job's own. ``identifier(*args)``
    replaces the SHA-1 part of the retry key; ``args(exc, *args)`` gives
    the retry's arguments; ``delegate`` is a job to enqueue instead.
    ``expire_key_after`` gives the counter a TTL; ``sleep_after_requeue``
    pauses the failing process; ``on_retry``/``on_give_up`` callbacks get
    ``(exc, *args)``. ``client``: default ``resque.get_client()``.
    """

    default_limit = 1

    def __init__(self, limit: int | None = None, delay: Delay = 0,
                 exceptions: "Sequence[type[BaseException]] | Mapping[type[BaseException], Any] | None" = None,
                 fatal: Sequence[type[BaseException]] | None = None,
                 ignore: Sequence[type[BaseException]] = (), queue: "str | Check | None" = None,
                 retry_if: "Check | Sequence[Check]" = (), identifier: Check | None = None,
                 args: Check | None = None, delegate: Any = None,
                 expire_key_after: float | None = None, sleep_after_requeue: float = 0,
                 on_retry: Sequence[Check] = (), on_give_up: Sequence[Check] = (),
                 client: Resque | None = None):
        if exceptions is not None and fatal is not None:
            raise ConfigurationError("give either exceptions or fatal, not both: with fatal "
                                     "classes every other exception is retried")
        self.delays: dict[type[BaseException], Any] = dict(exceptions) \
            if isinstance(exceptions, Mapping) else {}
        self.exceptions = tuple(self.delays) if self.delays else _classes(exceptions)
        self.fatal = _classes(fatal)
        self.ignore = tuple(ignore)
        self.limit = self._default_limit() if limit is None else int(limit)
        self.delay = delay
        self.queue = queue
        self.retry_if = (retry_if,) if callable(retry_if) else tuple(retry_if)
        self.identifier = identifier
        self.args = args
        self.delegate = delegate
        self.expire_key_after = expire_key_after
        self.sleep_after_requeue = sleep_after_requeue
        self.on_retry = tuple(on_retry)
        self.on_give_up = tuple(on_give_up)
        self.client = client

    def _default_limit(self) -> int:
        longest = max((len(v) for v in self.delays.values() if isinstance(v, (list, tuple))),
                      default=0)
        return max(self.default_limit, longest)

    # -- a job option ------------------------------------------------------------

    def attach(self, spec: JobSpec) -> None:
        """Add the retry hooks to a job (``@resque.job(retry=Retry(...))``)."""
        spec.add_hook("after_perform", lambda *args: self.succeeded(spec.name, list(args)))
        spec.add_hook("on_failure", lambda exc, *args: self.failed(spec, exc, list(args)))

    # -- what the hooks do ---------------------------------------------------------

    def retry_name(self, class_name: str, args: list[Any]) -> str:
        """Return the retry key of a job, without the namespace."""
        ident = self.identifier(*args) if self.identifier else sha1_identifier(args)
        return PluginKeys.retry_name(class_name, ident)

    def succeeded(self, class_name: str, args: list[Any]) -> None:
        """Forget the attempt counter after a successful perform (one DEL)."""
        client = self._client()
        if not client.inline:
            store = plugin_store(client)
            store.forget(store.keys.base.key(self.retry_name(class_name, args)))

    def failed(self, spec: JobSpec, exc: BaseException, args: list[Any]) -> Decision | None:
        """Count the attempt, retry or give up; attach the decision to ``exc``."""
        client = self._client()
        if client.inline:
            return None
        store = plugin_store(client)
        name = self.retry_name(spec.name, args)
        rkey = store.keys.base.key(name)
        attempt = store.count_attempt(rkey, type(exc) in self.ignore)
        if self.expire_key_after is not None:
            store.expire(rkey, self.delay_for(exc, attempt) + self.expire_key_after)
        if self.should_retry(exc, attempt, args):
            decision = self.try_again(client, spec, exc, args, name, attempt)
        else:
            self.give_up(client, exc, args, rkey)
            decision = Decision(name, attempt, False)
        _attach(exc, decision)
        return decision

    def should_retry(self, exc: BaseException, attempt: int, args: list[Any]) -> bool:
        """Apply resque-retry's rule: below the limit, and a retryable exception or check."""
        if self.limit == 0 or (self.limit > 0 and attempt >= self.limit):
            return False
        return self.qualifies(exc) or any(check(exc, *args) for check in self.retry_if)

    def qualifies(self, exc: BaseException) -> bool:
        """Tell whether the exception lists allow retrying ``exc``."""
        if self.fatal is not None:
            return not isinstance(exc, self.fatal)
        if self.exceptions is not None:
            return isinstance(exc, self.exceptions)
        return True

    def delay_for(self, exc: BaseException, attempt: int) -> float:
        """Return the seconds to wait before the retry after failed ``attempt``."""
        if self.delays:
            for cls in type(exc).__mro__:  # the most specific listed class
                if cls in self.delays:
                    value = self.delays[cls]
                    return _pick(value, attempt) if isinstance(value, (list, tuple)) else float(value)
            return 0.0
        if callable(self.delay):
            return float(self.delay(attempt, exc))
        if isinstance(self.delay, (list, tuple)):
            return _pick(self.delay, attempt)
        return float(self.delay)  # type: ignore[arg-type]

    def try_again(self, client: Resque, spec: JobSpec, exc: BaseException, args: list[Any],
                  name: str, attempt: int) -> Decision:
        """Re-enqueue the job (through the delayed queue when delayed), as Ruby."""
        for callback in self.on_retry:
            callback(exc, *args)
        delay = self.delay_for(exc, attempt)
        target = spec_of(client, self.delegate) if self.delegate is not None else spec
        queue = self.queue(exc, *args) if callable(self.queue) else self.queue
        queue = queue or target.queue or current_queue()
        queue = client.registry.queue_for(target, queue)
        store = plugin_store(client)
        rkey = store.keys.base.key(name)
        store.keep_retrying(rkey)
        new_args = list(self.args(exc, *args)) if self.args else list(args)
        if delay > 0:
            push_delayed(client, time.time() + delay, queue, target.name, new_args)
            pushed = True
        else:
            pushed = client.enqueue_to(queue, target.target or target.name, *new_args) is not None
        if self.delegate is not None:
            store.forget(rkey)
        if self.sleep_after_requeue > 0:
            time.sleep(self.sleep_after_requeue)
        logger.info("Retrying %s (attempt %d failed: %s) on %s in %.0fs",
                    spec.name, attempt, type(exc).__name__, queue, delay)
        return Decision(name, attempt, pushed and self.delegate is None, delay, queue)

    def give_up(self, client: Resque, exc: BaseException, args: list[Any], rkey: str) -> None:
        """Run the give-up callbacks and forget the counter."""
        for callback in self.on_give_up:
            callback(exc, *args)
        plugin_store(client).forget(rkey)

    def _client(self) -> Resque:
        return self.client or get_client()


class ExponentialBackoff(Retry):
    """``Retry`` with resque-retry's exponential backoff defaults.

    Delays ``backoff`` (0 s, 1 min, 10 min, 1 h, 3 h, 6 h) indexed by
    attempt, each times a random factor between ``multiplier_min`` and
    ``multiplier_max`` (both 1.0: no jitter) and cut to whole seconds; the
    limit defaults to the number of delays.
    """

    def __init__(self, backoff: Sequence[float] = BACKOFF, multiplier_min: float = 1.0,
                 multiplier_max: float = 1.0, limit: int | None = None, **options: Any):
        if multiplier_min > multiplier_max:
            raise ConfigurationError(f"multiplier_min {multiplier_min} is larger than "
                                     f"multiplier_max {multiplier_max}")
        self.backoff = tuple(backoff)
        self.multiplier_min, self.multiplier_max = multiplier_min, multiplier_max
        super().__init__(limit=len(self.backoff) if limit is None else limit, **options)

    def delay_for(self, exc: BaseException, attempt: int) -> float:
        low, high = self.multiplier_min, self.multiplier_max
        factor = high if low == high else random.uniform(low, high)
        return float(int(_pick(self.backoff, attempt) * factor))


# -- class attributes, as resque-retry's `extend Resque::Plugins::Retry` -----------

_ATTRIBUTES = {
    "retry_limit": "limit", "retry_exceptions": "exceptions", "fatal_exceptions": "fatal",
    "ignore_exceptions": "ignore", "retry_job_delegate": "delegate",
    "expire_retry_key_after": "expire_key_after", "sleep_after_requeue": "sleep_after_requeue",
    "retry_criteria_checks": "retry_if", "try_again_callbacks": "on_retry",
    "give_up_callbacks": "on_give_up",
}


def _arity_call(fn: Callable[..., Any], exc: BaseException, args: list[Any]) -> Any:
    """Call a Ruby-style ``retry_delay``: with nothing, the exception class, or it and the args."""
    try:
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
    except (TypeError, ValueError):
        params = []
    if not params:
        return fn()
    if len(params) == 1 and params[0].kind is not params[0].VAR_POSITIONAL:
        return fn(type(exc))
    return fn(type(exc), *args)


def policy_of(cls: type, args: Sequence[Any] = ()) -> Retry:
    """Build the retry policy a ``RetryMixin`` class declares by its attributes."""
    options: dict[str, Any] = {new: getattr(cls, old) for old, new in _ATTRIBUTES.items()
                               if getattr(cls, old, None) is not None}
    delay = getattr(cls, "retry_delay", 0)
    if callable(delay):
        options["delay"] = lambda attempt, exc: _arity_call(delay, exc, list(args))
    else:
        options["delay"] = delay
    for method, option in (("retry_queue", "queue"), ("retry_identifier", "identifier"),
                           ("retry_args_for_exception", "args")):
        fn = getattr(cls, method, None)
        if callable(fn):
            options[option] = fn
    backoff = getattr(cls, "backoff_strategy", None)
    if backoff is not None:
        return ExponentialBackoff(
            backoff, float(getattr(cls, "retry_delay_multiplicand_min", 1.0)),
            float(getattr(cls, "retry_delay_multiplicand_max", 1.0)), **options)
    return Retry(**options)


class RetryMixin:
    """Mixin: retry a class job by resque-retry's class attributes.

    ``retry_limit``, ``retry_delay`` (seconds, or a method taking nothing,
    the exception class, or it and the args), ``retry_exceptions`` (a list,
    or a dict class -> delay), ``fatal_exceptions``, ``ignore_exceptions``,
    ``retry_job_delegate``, ``expire_retry_key_after``,
    ``sleep_after_requeue``, ``retry_criteria_checks``,
    ``try_again_callbacks``, ``give_up_callbacks``; methods
    ``retry_queue(exc, *args)``, ``retry_identifier(*args)``,
    ``retry_args_for_exception(exc, *args)``.
    """

    @classmethod
    def after_perform_retry(cls, *args: Any) -> None:
        policy_of(cls, args).succeeded(job_name(cls), list(args))

    @classmethod
    def on_failure_retry(cls, exc: BaseException, *args: Any) -> None:
        policy_of(cls, args).failed(spec_of(get_client(), cls), exc, list(args))


class ExponentialBackoffMixin(RetryMixin):
    """``RetryMixin`` with resque-retry's ``ExponentialBackoff`` defaults."""

    backoff_strategy: Sequence[float] = BACKOFF
    retry_delay_multiplicand_min = 1.0
    retry_delay_multiplicand_max = 1.0
