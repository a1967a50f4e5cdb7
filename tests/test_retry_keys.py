"""Retry and lock keys spelled as the Ruby plugins spell them (reference 7.4)."""
from __future__ import annotations

import json

import pytest

from resque.keys import Keys
from resque.plugins.keys import PluginKeys
from resque.plugins.ruby import RUBY_34, float_to_s, inspect, join, sha1_identifier, string_inspect

# (args as JSON, Ruby's joined string, the key without the namespace): observed vectors
VECTORS = [
    ("[]", "", "resque-retry:RetryJob"),
    ('[1,"two"]', "1-two", "resque-retry:RetryJob:26d3f710529ac748260e0cbeb4d5b6dc15d5466b"),
    ("[null]", "", "resque-retry:RetryJob"),
    ('["a b"]', "a b", "resque-retry:RetryJob:7dbde93504122a707f849f2c12bdd9de71b41929"),
    ("[1.0,2.5e-07,1.0e+20]", "1.0-2.5e-07-1.0e+20",
     "resque-retry:RetryJob:2a62f146daa10a7327377451f2eb6691443d9a3d"),
    ('[{"k":[1,"v"],"n":null}]', '{"k"=>[1, "v"], "n"=>nil}',
     "resque-retry:RetryJob:4bd935dbd0002f496dd56f60ffe5f3fad397646d"),
    ('[[1,[2,3]],"x"]', "1-2-3-x", "resque-retry:RetryJob:cd99cc9a4074cde83d8387b5da74ddc4bb71bdc5"),
    ('["é/ü"]', "é/ü", "resque-retry:RetryJob:6205a87f1e28619bac537fe55ebbf18702ef0a2d"),
    ("[true,false]", "true-false", "resque-retry:RetryJob:f00fa2b3980821b31114d9d22c8330b3360dc12d"),
    ('[""]', "", "resque-retry:RetryJob"),
    ('["",""]', "-", "resque-retry:RetryJob:3bc15c8aae3e4124dd409035f32ea2fd6835efc9"),
]


@pytest.mark.parametrize("args_json,joined,key", VECTORS, ids=[v[0] for v in VECTORS])
def test_retry_key_matches_the_observed_ruby_key(args_json, joined, key):
    args = json.loads(args_json)
    assert join(args) == joined
    keys = PluginKeys(Keys())
    assert keys.retry_name("RetryJob", sha1_identifier(args)) == key
    assert keys.retry("RetryJob", sha1_identifier(args)) == "resque:" + key


def test_retry_key_drops_whitespace_like_ruby():
    keys = PluginKeys(Keys("ns"))
    assert keys.retry("Billing:: Charge", "a b\tc") == "ns:resque-retry:Billing::Charge:abc"
    assert keys.failure("resque-retry:X:1") == "ns:failure-resque-retry:X:1"


@pytest.mark.parametrize("value,ruby", [
    (1.0, "1.0"), (100.0, "100.0"), (2.5e-07, "2.5e-07"), (1e16, "1.0e+16"), (1e20, "1.0e+20"),
    (-0.0, "-0.0"), (1e-05, "1.0e-05"), (0.0001, "0.0001"), (1.5e300, "1.5e+300"),
    (float("inf"), "Infinity"), (float("-inf"), "-Infinity"), (float("nan"), "NaN"),
])
def test_floats_are_spelled_as_ruby_float_to_s(value, ruby):
    assert float_to_s(value) == ruby


def test_inspect_follows_ruby_31_and_can_follow_ruby_34():
    value = {"k": [1, "v", None, True, 2.0], "e": {}, "s": 'q"\\\n#{x}'}
    assert inspect(value) == '{"k"=>[1, "v", nil, true, 2.0], "e"=>{}, "s"=>"q\\"\\\\\\n\\#{x}"}'
    assert inspect({"k": 1}, RUBY_34) == '{"k" => 1}'
    assert string_inspect("\x01\x7f\x1b") == '"\\u0001\\x7F\\e"'


def test_join_flattens_nested_arrays_and_keeps_empty_places():
    assert join([1, [], 2]) == "1--2"
    assert join([[None], "a"]) == "-a"


def test_lock_keys_follow_resque_lock_timeout():
    keys = PluginKeys(Keys())
    assert keys.lock("UpdateGraph", "7-x") == "resque:lock:UpdateGraph:7-x"
    assert keys.loner("UpdateGraph", "7-x") == "resque:loner:lock:UpdateGraph:7-x"
    assert keys.lock("UpdateGraph", None) == "resque:lock:UpdateGraph"
    assert keys.lock("UpdateGraph", "") == "resque:lock:UpdateGraph:"  # Ruby: [].join('-') is ""
