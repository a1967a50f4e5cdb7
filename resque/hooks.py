"""Worker hooks: callables run at points of a worker's life (Ruby's names)."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable

logger = logging.getLogger(__name__)

WORKER_HOOKS = ("before_first_fork", "before_fork", "after_fork", "before_pause",
                "after_pause", "queue_empty", "worker_exit", "shutdown")

Hook = Callable[..., Any]


@dataclass
class WorkerHooks:
    """Lists of worker hooks by name; register with ``hooks.add(name, fn)``.

    ``before_fork`` and ``after_fork`` get the job; ``before_pause`` and
    ``after_pause`` get the worker; the others get nothing.
    """

    hooks: dict[str, list[Hook]] = field(default_factory=lambda: {n: [] for n in WORKER_HOOKS})

    def add(self, name: str, fn: Hook) -> Hook:
        """Append a hook (usable as a decorator: ``@hooks.on("before_fork")``)."""
        if name not in self.hooks:
            raise ValueError(f"unknown worker hook {name!r}; use one of {', '.join(WORKER_HOOKS)}")
        self.hooks[name].append(fn)
        return fn

    def on(self, name: str) -> Callable[[Hook], Hook]:
        """Decorator form of ``add``."""
        return lambda fn: self.add(name, fn)

    def clear(self, name: str) -> None:
        self.hooks[name].clear()

    def run(self, name: str, *args: Any) -> None:
        """Run every hook of ``name`` in registration order; errors propagate."""
        fns = self.hooks[name]
        if fns:
            logger.debug("Running %s hooks", name)
        for fn in fns:
            fn(*args)
