"""Payload encode/decode: Ruby's bytes, on both implementations."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from resque import PayloadError, _compat

VECTORS = json.loads((Path(__file__).parent / "data" / "ruby-json-vectors.json").read_text())
# Floats are the one documented difference: Python writes 1e+20 where Ruby writes 1.0e+20.
BYTE_EXACT = [name for name in VECTORS["cases"] if name != "floats"]


@pytest.mark.parametrize("case", BYTE_EXACT)
def test_encode_matches_ruby_bytes(impl, case):
    expected = VECTORS["cases"][case]["encoded"].encode("utf-8")
    args = json.loads(expected)["args"]
    assert impl.encode_payload("Archive", args) == expected


@pytest.mark.parametrize("case", list(VECTORS["cases"]))
def test_decode_reads_every_ruby_vector_exactly(impl, case):
    raw = VECTORS["cases"][case]["encoded"].encode("utf-8")
    payload = impl.decode_payload(raw)
    assert payload["class"] == "Archive"
    assert payload["args"] == json.loads(raw)["args"]


def test_decode_keeps_integers_beyond_64_bits(impl):
    payload = impl.decode_payload(b'{"class":"A","args":[18446744073709551617,-9223372036854775809]}')
    assert payload["args"] == [18446744073709551617, -9223372036854775809]
    assert all(type(a) is int for a in payload["args"])


def test_encode_keeps_integers_beyond_64_bits(impl):
    assert impl.encode_payload("A", [18446744073709551617]) == b'{"class":"A","args":[18446744073709551617]}'


@pytest.mark.parametrize("bad", [math.nan, math.inf, object(), {1, 2}, b"bytes"])
def test_encode_refuses_non_json_arguments_with_type_error(impl, bad):
    with pytest.raises((TypeError, ValueError)):
        impl.encode_payload("A", [bad])


@pytest.mark.parametrize("raw,why", [
    (b"", "not valid JSON"), (b"{", "not valid JSON"), (b"\xff\xfe", "not valid JSON"),
    (b"null", "not a JSON object"), (b"[1]", "not a JSON object"), (b'"x"', "not a JSON object"),
    (b"{}", "no job class"), (b'{"class":""}', "no job class"), (b'{"class":5}', "no job class"),
])
def test_decode_bad_bytes_raises_payload_error(impl, raw, why):
    with pytest.raises(PayloadError, match=why):
        impl.decode_payload(raw)


def test_decode_tolerates_missing_args_extra_members_and_spacing(impl):
    assert impl.decode_payload(b'{ "class" : "A" }')["args"] == []
    p = impl.decode_payload(b'{"args": "one", "class": "A", "id": 7}')
    assert p["args"] == ["one"] and p["id"] == 7


def test_orjson_and_stdlib_encoders_give_identical_bytes():
    corpus = [
        {"class": "A", "args": [1, -2, 0, "é", "日本語", "</script>", "\u2028", "\x00\x1f", "a/b"]},
        {"class": "B::C", "args": [{"a": [1, {"b": None}], "z": True}, [[]], {}, False, 0.1, 1.5]},
        {"class": "D", "args": [9223372036854775807, -9223372036854775808, "tab\tnl\n\"\\"]},
    ]
    for item in corpus:
        assert _compat.dumps(item) == _compat.std_dumps(item)
