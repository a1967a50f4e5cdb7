"""The accelerator selector and the contract between the two implementations."""
from __future__ import annotations

import importlib
import inspect
import os
import subprocess
import sys

import resque
from resque import _accel, _loop

PUBLIC = ["decode_payload", "encode_payload", "run_loop"]


def test_compiled_module_is_used_when_built_and_not_disabled():
    try:
        importlib.import_module("resque._speedups")
    except ImportError:
        assert _accel.IMPLEMENTATION == "python"
        return
    expected = "python" if _accel.NO_EXTENSIONS else "cython"
    assert resque.implementation() == expected


def test_both_implementations_expose_the_same_signatures(impl):
    for name in PUBLIC:
        ours, ref = getattr(impl, name), getattr(_loop, name)
        assert inspect.signature(ours).parameters.keys() == inspect.signature(ref).parameters.keys(), name


def test_no_extensions_flag_forces_pure_python():
    env = dict(os.environ, RESQUE_NO_EXTENSIONS="1")
    out = subprocess.run([sys.executable, "-c", "import resque; print(resque.implementation())"],
                         env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "python"


def test_import_does_no_io():
    code = ("import socket, builtins\n"
            "def boom(*a, **k): raise SystemExit('I/O at import')\n"
            "socket.socket.connect = boom\n"
            "import resque, resque.client, resque.worker\n"
            "print('clean')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "clean", out.stderr


def test_run_loop_counts_jobs_and_stops_when_idle_says_so(impl):
    steps = iter([True, True, False, True, False])
    idles = iter([True, False])
    assert impl.run_loop(lambda: next(steps), lambda: False, lambda: next(idles)) == 3
