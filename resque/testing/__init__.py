"""Test helpers for code that uses resque: an isolated Redis, inline mode, ``drain()``.

With pytest they come as fixtures (``resque_redis``, ``resque_client``,
``resque_inline``, ``resque_drain``) from the plugin in ``plugin``,
which pytest loads by itself; it has nothing autouse, so a test run that
asks for none of them is unchanged. Disable it with ``-p no:resque``.
"""
from __future__ import annotations

from .drain import drain
from .server import IsolatedRedis

__all__ = ["IsolatedRedis", "drain"]
