"""The plugins' key names: nothing else in ``resque.plugins`` spells a key.

Retry keys follow resque-retry 1.8 (``resque-retry:<Class>[:<id>]`` and
``failure-<retry key>``); lock keys follow resque-lock-timeout
(``lock:<Class>:<id>`` while running, ``loner:lock:<Class>:<id>`` while
queued). Every name is under the client's namespace.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..keys import Keys
from .ruby import strip_whitespace

RETRY_PREFIX = "resque-retry"
FAILURE_PREFIX = "failure-"
LOCK_PREFIX = "lock"
LONER_PREFIX = "loner"


@dataclass(frozen=True)
class PluginKeys:
    """Build the keys of the retry and lock plugins."""

    base: Keys

    @staticmethod
    def retry_name(class_name: str, identifier: str | None) -> str:
        """Return resque-retry's key without the namespace (whitespace deleted, as Ruby)."""
        parts = [RETRY_PREFIX, class_name] + ([identifier] if identifier is not None else [])
        return strip_whitespace(":".join(parts))

    def retry(self, class_name: str, identifier: str | None) -> str:
        """Return the attempt counter of one class and argument list."""
        return self.base.key(self.retry_name(class_name, identifier))

    def failure(self, retry_name: str) -> str:
        """Return the key holding the last suppressed failure of a retry key (un-prefixed name)."""
        return self.base.key(FAILURE_PREFIX + retry_name)

    @staticmethod
    def lock_name(class_name: str, identifier: str | None) -> str:
        """Return resque-lock-timeout's running lock name (``lock:<Class>:<id>``)."""
        return ":".join([LOCK_PREFIX, class_name] + ([identifier] if identifier is not None else []))

    def lock(self, class_name: str, identifier: str | None) -> str:
        """Return the lock a running job holds."""
        return self.base.key(self.lock_name(class_name, identifier))

    def loner(self, class_name: str, identifier: str | None) -> str:
        """Return the lock a queued job holds (``loner:lock:<Class>:<id>``)."""
        return self.base.key(LONER_PREFIX + ":" + self.lock_name(class_name, identifier))
