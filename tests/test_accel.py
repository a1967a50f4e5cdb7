"""The accelerator selector and the contract between the two implementations."""
from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import subprocess
import sys

import resque
from resque import _accel, _loop
from tests.helpers import extension_expected

PUBLIC = ["decode_payload", "encode_payload", "fork_and_wait", "run_loop", "work_one"]


def test_compiled_module_is_used_when_built_and_not_disabled():
    try:
        importlib.import_module("resque._speedups")
    except ImportError:
        assert _accel.IMPLEMENTATION == "python"
        return
    expected = "python" if _accel.NO_EXTENSIONS else "cython"
    assert resque.implementation() == expected


def test_compiled_extension_is_built_where_it_is_expected():
    if not extension_expected():
        return  # no Cython and no RESQUE_REQUIRE_EXTENSIONS: pure Python is the right outcome
    assert importlib.util.find_spec("resque._speedups") is not None, (
        "resque._speedups is not built although Cython is installed (or RESQUE_REQUIRE_EXTENSIONS "
        "is set): rebuild with pip install -e .")
    if not _accel.NO_EXTENSIONS:
        assert resque.implementation() == "cython"


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


class FakeWorker:
    """The hot loop's interface, scripted: replies, then idle answers."""

    fork = False
    stopping = False

    def __init__(self, replies, idles):
        self.replies, self.idles = iter(replies), iter(idles)
        self.polled = ["high", "low"]
        self.performed, self.rejected, self.titles = [], [], []

    def reserve(self):
        return next(self.replies)

    def make_job(self, queue, payload, raw):
        return (queue, payload["class"], payload["args"], raw)

    def title(self, text):
        self.titles.append(text)

    def perform(self, job):
        self.performed.append(job)

    def reject(self, queue, raw, exc):
        self.rejected.append((queue, raw))

    def idle(self):
        return next(self.idles)


def test_run_loop_runs_jobs_rejects_bad_payloads_and_stops_when_idle_says_so(impl):
    w = FakeWorker([[1, b'{"class":"A","args":[1]}'], None, [2, b"{bad"],
                    [2, b'{"class":"B"}'], None], [True, False])
    assert impl.run_loop(w) == 3
    assert w.performed == [("high", "A", [1], b'{"class":"A","args":[1]}'),
                           ("low", "B", [], b'{"class":"B"}')]
    assert w.rejected == [("low", b"{bad")]
    assert w.titles[0].startswith("Processing high since ") and w.titles[0].endswith(" [A]")
