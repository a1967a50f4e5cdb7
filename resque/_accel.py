"""Choose the compiled hot path (``resque._speedups``) or its Python twin."""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from ._flags import flag

NO_EXTENSIONS = flag("RESQUE_NO_EXTENSIONS") or sys.implementation.name != "cpython"

if TYPE_CHECKING or NO_EXTENSIONS:
    from ._loop import decode_payload, encode_payload, fork_and_wait, run_loop, work_one
    IMPLEMENTATION = "python"
else:
    try:
        from ._speedups import decode_payload, encode_payload, fork_and_wait, run_loop, work_one
        IMPLEMENTATION = "cython"
    except ImportError:
        from ._loop import decode_payload, encode_payload, fork_and_wait, run_loop, work_one
        IMPLEMENTATION = "python"

__all__ = ["IMPLEMENTATION", "NO_EXTENSIONS", "decode_payload", "encode_payload", "fork_and_wait",
           "run_loop", "work_one"]
