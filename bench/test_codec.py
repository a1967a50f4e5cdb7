"""Payload encode/decode, compiled and pure side by side (no Redis)."""
from __future__ import annotations

from conftest import PAYLOAD


def test_encode_payload(benchmark, impl):
    out = benchmark(impl.encode_payload, "Archive", [44, "masterbrew", {"size": "large", "tags": ["a", "b"]}])
    assert out == PAYLOAD


def test_decode_payload(benchmark, impl):
    out = benchmark(impl.decode_payload, PAYLOAD)
    assert out["class"] == "Archive"
