"""Job middleware: wrap every enqueue and every perform of a registry's jobs.

Job hooks (``before_perform`` ...) belong to one job class and see only its
arguments. Middleware sees every job: at enqueue the queue and the payload
about to be encoded (it may add top-level members, which Ruby Resque keeps
and ignores), at perform the reserved ``Job`` (queue and payload). Tracing
and error-reporting plugins are built on it::

    registry.use(MyMiddleware())

With no middleware registered the client encodes and pushes as before:
nothing here runs on the plain enqueue or perform path.
"""
from __future__ import annotations

from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from ._compat import dumps

if TYPE_CHECKING:
    from .job import Job

Payload = dict[str, Any]


class JobMiddleware:
    """Base class: override ``enqueue`` and/or ``perform`` (both no-ops here)."""

    def enqueue(self, queue: str, payload: Payload) -> AbstractContextManager[Any]:
        """Return a context wrapping the push of ``payload`` (it may add members)."""
        return nullcontext()

    def perform(self, job: "Job") -> AbstractContextManager[Any]:
        """Return a context wrapping the whole perform of ``job``, hooks included."""
        return nullcontext()


@contextmanager
def enqueueing(middleware: Sequence[JobMiddleware], queue: str, name: str,
               args_list: Sequence[Sequence[Any]]) -> Iterator[list[bytes]]:
    """Yield the encoded payloads inside every middleware's enqueue context.

    Members are ``class``, ``args``, then whatever middleware added; an
    exception from the push passes through each context (first is outermost).
    """
    with ExitStack() as stack:
        payloads = []
        for args in args_list:
            payload: Payload = {"class": name, "args": list(args)}
            for mw in middleware:
                stack.enter_context(mw.enqueue(queue, payload))
            payloads.append(dumps(payload))
        yield payloads


@contextmanager
def performing(middleware: Sequence[JobMiddleware], job: "Job") -> Iterator[None]:
    """Run the body inside every middleware's perform context (first is outermost)."""
    with ExitStack() as stack:
        for mw in middleware:
            stack.enter_context(mw.perform(job))
        yield
