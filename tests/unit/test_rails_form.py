"""Rails-style form keys become the same nested structure as the JSON body would be."""

from __future__ import annotations

import pytest

from app.core.bodies import parse_urlencoded
from app.core.errors import BadRequest


def test_nested_hash() -> None:
    assert parse_urlencoded(b"incident[name]=Down&incident[status]=investigating") == {
        "incident": {"name": "Down", "status": "investigating"}
    }


def test_map_of_ids() -> None:
    body = b"incident[components][abc123]=major_outage&incident[components][def456]=operational"
    assert parse_urlencoded(body) == {
        "incident": {"components": {"abc123": "major_outage", "def456": "operational"}}
    }


def test_array() -> None:
    body = b"incident[component_ids][]=a&incident[component_ids][]=b"
    assert parse_urlencoded(body) == {"incident": {"component_ids": ["a", "b"]}}


def test_array_of_hashes() -> None:
    body = (
        b"data[m1][][timestamp]=1&data[m1][][value]=2.5"
        b"&data[m1][][timestamp]=31&data[m1][][value]=3"
        b"&data[m2][][timestamp]=1&data[m2][][value]=9"
    )
    assert parse_urlencoded(body) == {
        "data": {
            "m1": [{"timestamp": "1", "value": "2.5"}, {"timestamp": "31", "value": "3"}],
            "m2": [{"timestamp": "1", "value": "9"}],
        }
    }


def test_plain_keys_and_escapes() -> None:
    assert parse_urlencoded(b"a=1&b=hello+world%21&c=") == {"a": "1", "b": "hello world!", "c": ""}


def test_conflicting_types_are_rejected() -> None:
    with pytest.raises(BadRequest):
        parse_urlencoded(b"a=1&a[b]=2")
    with pytest.raises(BadRequest):
        parse_urlencoded(b"a[]=1&a[b]=2")


def test_deep_nesting_is_rejected() -> None:
    with pytest.raises(BadRequest):
        parse_urlencoded(b"a" + b"[x]" * 40 + b"=1")


def test_invalid_utf8_is_rejected() -> None:
    with pytest.raises(BadRequest):
        parse_urlencoded(b"a=\xff\xfe")
