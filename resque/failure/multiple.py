"""Ruby's ``Failure::Multiple``: save to several backends, read from the first."""
from __future__ import annotations

from typing import Callable, Iterator, Sequence

from .base import Failure, FailureBackend


class MultipleFailure(FailureBackend):
    """Fan ``save`` and ``remove`` out to every backend; read from the first."""

    def __init__(self, backends: Sequence[FailureBackend]):
        if not backends:
            raise ValueError("MultipleFailure needs at least one backend")
        self.backends = list(backends)
        self.first = self.backends[0]

    def save(self, record: bytes, queue: str) -> None:
        for b in self.backends:
            b.save(record, queue)

    def report(self, exc: BaseException, record: bytes, queue: str) -> None:
        for b in self.backends:
            b.report(exc, record, queue)

    def remove(self, failure: Failure | int | str, queue: str | None = None) -> bool:
        results = [b.remove(failure, queue) for b in self.backends]
        return any(results)

    def count(self, queue: str | None = None, class_name: str | None = None) -> int:
        return self.first.count(queue, class_name)

    def queues(self) -> list[str]:
        return self.first.queues()

    def all(self, offset: int = 0, limit: int = 1, queue: str | None = None) -> list[Failure]:
        return self.first.all(offset, limit, queue)

    def each(self, offset: int = 0, limit: int | None = None, queue: str | None = None,
             class_name: str | None = None, order: str = "desc") -> Iterator[Failure]:
        return self.first.each(offset, limit, queue, class_name, order)

    def find(self, failure_id: str, queue: str | None = None) -> Failure | None:
        return self.first.find(failure_id, queue)

    def clear(self, queue: str | None = None) -> int:
        return self.first.clear(queue)

    def requeue(self, failure: Failure | int | str, queue: str | None = None) -> str | None:
        return self.first.requeue(failure, queue)

    def requeue_matching(self, keep: Callable[[Failure], bool], queue: str | None = None) -> int:
        return self.first.requeue_matching(keep, queue)

    def requeue_all(self) -> int:
        return self.first.requeue_all()

    def recover(self, queue: str | None = None) -> None:
        self.first.recover(queue)

    def requeue_queue(self, job_queue: str) -> int:
        return self.first.requeue_queue(job_queue)

    def requeue_class(self, class_name: str) -> int:
        return self.first.requeue_class(class_name)

    def url(self) -> str | None:
        return self.first.url()
