# cython: language_level=3, boundscheck=False, wraparound=False
"""Compiled twin of ``resque/_loop.py``: same names, same signatures, same behaviour."""
from resque._compat import JSONDecodeError, dumps, loads
from resque.errors import PayloadError


def encode_payload(str name, args):
    """Encode ``{"class": name, "args": [...]}`` in Ruby's compact JSON."""
    return dumps({"class": name, "args": args})


cdef str _preview(data, Py_ssize_t limit=120):
    cdef str text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return repr(text if len(text) <= limit else text[:limit] + "...")


def decode_payload(data):
    """Decode a queue element into a job payload or raise ``PayloadError``."""
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
    elif type(args) is not list:
        d["args"] = [args]
    return d


def run_loop(step, should_stop, idle):
    """Run worker steps until told to stop; return how many jobs ran."""
    cdef long done = 0
    while not should_stop():
        if step():
            done += 1
        elif not idle():
            break
    return done
