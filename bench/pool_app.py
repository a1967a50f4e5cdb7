"""A stand-in application for the pool memory figures: about 100 MB of data made at import.

Like a web framework with its models, templates and caches loaded, it
builds its state once when imported (``-A bench.pool_app``); a pool imports
it once in the master, separately started workers each import it.
"""
from __future__ import annotations

from resque.client import job

# ~1.1 M small objects (strings in lists and dicts): what a loaded app holds.
CATALOGUE = {f"product-{i}": {"id": i, "name": f"Product number {i}", "tags": [str(i % 97), "x"]}
             for i in range(250_000)}


@job(queue="bench", name="PoolBench::Touch")
class Touch:
    @staticmethod
    def perform(key: str) -> None:
        """Read one entry, as a job reading the app's state would."""
        CATALOGUE.get(key)
