"""An app for ``resque work -A``: holds the interpreter's shutdown open until the test says go.

Its object is freed with the module globals, after Python has put the
signal handlers back to their defaults (and emptied the builtins, so
everything it uses is bound in advance); it writes ``late`` in
``LATE_EXIT_DIR`` then waits (up to 10 s) for ``go`` there.
"""
from __future__ import annotations

import os
import time


class HoldShutdown:
    def __init__(self) -> None:
        where = os.environ.get("LATE_EXIT_DIR", "")
        self.late, self.go = os.path.join(where, "late"), os.path.join(where, "go")
        self.active = bool(where)

    def __del__(self, _open=os.open, _close=os.close, _flags=os.O_CREAT | os.O_WRONLY,
                _exists=os.access, _ok=os.F_OK, _now=time.monotonic, _sleep=time.sleep) -> None:
        if not self.active:
            return
        _close(_open(self.late, _flags))
        deadline = _now() + 10
        while not _exists(self.go, _ok) and _now() < deadline:
            _sleep(0.01)


hold = HoldShutdown()
