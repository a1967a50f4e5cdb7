# cython: language_level=3, boundscheck=False, wraparound=False
"""Compiled twin of ``resque/_loop.py``: same names, same signatures, same behaviour.

The public functions wrap C-level twins (``_decode``, ``_work_one``,
``_fork_and_wait``) so the loop calls them without Python call overhead; titles are built
with C string joins and the clock is libc ``time()``.
"""
import os
from libc.time cimport time as c_time

from resque._compat import JSONDecodeError, dumps, loads
from resque.errors import PayloadError



def encode_payload(str name, args):
    """Encode ``{"class": name, "args": [...]}`` in Ruby's compact JSON."""
    return dumps({"class": name, "args": args})


cdef str _preview(data, Py_ssize_t limit=120):
    cdef str text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return repr(text if len(text) <= limit else text[:limit] + "...")


cdef dict _decode(data):
    cdef object payload
    try:
        payload = loads(data)
    except (JSONDecodeError, ValueError, RecursionError) as exc:
        raise PayloadError(f"payload is not valid JSON ({exc}): {_preview(data)}") from None
    if type(payload) is not dict:
        raise PayloadError(f"payload is not a JSON object: {_preview(data)}")
    cdef dict d = <dict>payload
    name = d.get("class")
    if type(name) is not str or not name:
        raise PayloadError(f"payload has no job class: {_preview(data)}")
    args = d.get("args")
    if args is None:
        d["args"] = []
    elif type(args) is dict:  # Ruby splats a hash into [key, value] pairs
        d["args"] = [[k, v] for k, v in (<dict>args).items()]
    elif type(args) is not list:
        d["args"] = [args]
    return d


def decode_payload(data):
    """Decode a queue element into a job payload or raise ``PayloadError``."""
    return _decode(data)


def work_one(w):
    """Reserve, decode and run one job on worker ``w``; False when none."""
    return _work_one(w)


cdef bint _work_one(w) except -1:
    reply = w.reserve()
    if reply is None:
        return False
    cdef str queue = w.polled[reply[0] - 1]
    raw = reply[1]
    cdef dict payload
    try:
        payload = _decode(raw)
    except PayloadError as exc:
        w.reject(queue, raw, exc)
        return True
    job = w.make_job(queue, payload, raw)
    w.title(f"Processing {queue} since {<long>c_time(NULL)} [{payload['class']}]")
    if w.fork:
        _fork_and_wait(w, job)
    else:
        w.perform(job)
    return True


cdef object _fork_and_wait(w, job):
    w.before_fork(job)
    cdef long pid = os.fork()
    if pid == 0:
        w.child_main(job)
    w.child_pid = pid
    try:
        w.title(f"Forked {pid} at {<long>c_time(NULL)}")
        status = w.wait_child(pid)
    finally:
        w.child_pid = 0
    w.child_exited(job, pid, status)
    return status


def fork_and_wait(w, job):
    """Fork a child that performs ``job``; wait for it; return the wait status."""
    return _fork_and_wait(w, job)


def run_loop(w):
    """Run ``work_one`` until ``w.stopping``; return how many jobs ran."""
    cdef long done = 0
    while not w.stopping:
        if _work_one(w):
            done += 1
        elif not w.idle():
            break
    return done
