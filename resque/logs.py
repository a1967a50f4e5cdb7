"""Log formats for ``resque work --log-format``: ``text`` (the default) or ``json``.

The worker logs one record per job on the ``resque.jobs`` logger at INFO
(``done: Job(...) in 0.012s``) with ``extra={"resque": {...}}``: the worker
id, queue, job class, duration in seconds and outcome (``done``,
``failed``, ``dirty_exit``). A forked job's line comes from its child (the
job's own run time); a child killed by a signal gets its line from the
parent (fork to exit).
``JsonFormatter`` writes each record as one JSON object per line with those
fields at the top level, for log pipelines; ``text`` keeps the plain lines.
"""
from __future__ import annotations

import json
import logging
import time
from typing import Any

FORMATS = ("text", "json")


class JsonFormatter(logging.Formatter):
    """Write a record as one line of JSON: time, level, logger, message, job fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        fields = getattr(record, "resque", None)
        if isinstance(fields, dict):
            out.update((k, v) for k, v in fields.items() if v is not None)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)
