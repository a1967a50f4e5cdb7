"""Enqueueing: one job per round trip, many per pipeline, and bare RPUSH for scale."""
from __future__ import annotations

import resque.client
from bench_jobs import Noop


def test_enqueue_one(benchmark, impl, bench_client, monkeypatch):
    monkeypatch.setattr(resque.client, "encode_payload", impl.encode_payload)
    benchmark(bench_client.enqueue, Noop)
    assert bench_client.size("bench") > 0


def test_enqueue_many_1000(benchmark, impl, bench_client, monkeypatch):
    monkeypatch.setattr(resque.client, "encode_payload", impl.encode_payload)
    args = [()] * 1000
    benchmark(bench_client.enqueue_many, Noop, args)
    assert bench_client.size("bench") >= 1000


def test_bare_rpush_baseline(benchmark, r, bench_client):
    key = bench_client.store.keys.queue("bench")
    benchmark(r.rpush, key, b'{"class":"Noop","args":[]}')
