"""Plugins beyond core Resque: retries (resque-retry 1.8) and job locks.

``Retry``/``ExponentialBackoff`` (job option ``retry=``) and the mixins
``RetryMixin``/``ExponentialBackoffMixin`` come from ``retry``; ``Lock``
(job option ``lock=``) from ``lock``; the failure backend that keeps
retried failures out of the failed list from ``suppression``; the Retry
tab and the ``resque retry`` commands from ``retry_web`` and
``retry_cli``. The core never imports this package.
"""
from __future__ import annotations

from .lock import Lock
from .retry import ExponentialBackoff, ExponentialBackoffMixin, Retry, RetryMixin

__all__ = ["ExponentialBackoff", "ExponentialBackoffMixin", "Lock", "Retry", "RetryMixin"]
