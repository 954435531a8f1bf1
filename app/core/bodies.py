"""Request bodies: JSON, or Rails-style form encoding turned into the same nested structure.

`incident[name]=x&incident[components][c1]=major_outage&incident[component_ids][]=c1` becomes
{"incident": {"name": "x", "components": {"c1": "major_outage"}, "component_ids": ["c1"]}}, and
`data[m1][][timestamp]=1&data[m1][][value]=2` an array of hashes, following Rack's rules.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from app.core.errors import BadRequest

_HEAD = re.compile(r"\A[\[\]]*([^\[\]]+)\]*")
_ARRAY_OF_HASHES = re.compile(r"\A\[\]\[([^\[\]]+)\]\Z")
_ARRAY_CHILD = re.compile(r"\A\[\](.+)\Z")
_MAX_DEPTH = 32


def _has_key(params: dict[str, Any], key: str) -> bool:
    """Rack's params_hash_has_key?: does the (possibly nested) key already exist in this hash?"""
    if re.search(r"\[\]", key):
        return False
    node: Any = params
    for part in re.split(r"[\[\]]+", key):
        if part == "":
            continue
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _normalize(params: dict[str, Any], name: str, value: str, depth: int) -> dict[str, Any]:
    if depth > _MAX_DEPTH:
        raise BadRequest("Malformed request body: parameters nested too deeply")
    match = _HEAD.match(name)
    key = match.group(1) if match else ""
    after = name[match.end() :] if match else ""
    if not key:
        return params
    if after == "":
        params[key] = value
    elif after == "[]":
        existing = params.setdefault(key, [])
        if not isinstance(existing, list):
            raise BadRequest(f"Malformed request body: conflicting types for parameter {key}")
        existing.append(value)
    elif (child := _ARRAY_OF_HASHES.match(after) or _ARRAY_CHILD.match(after)) is not None:
        child_key = child.group(1)
        existing = params.setdefault(key, [])
        if not isinstance(existing, list):
            raise BadRequest(f"Malformed request body: conflicting types for parameter {key}")
        if existing and isinstance(existing[-1], dict) and not _has_key(existing[-1], child_key):
            _normalize(existing[-1], child_key, value, depth + 1)
        else:
            existing.append(_normalize({}, child_key, value, depth + 1))
    else:
        existing = params.setdefault(key, {})
        if not isinstance(existing, dict):
            raise BadRequest(f"Malformed request body: conflicting types for parameter {key}")
        params[key] = _normalize(existing, after, value, depth + 1)
    return params


def parse_rails_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, value in pairs:
        _normalize(params, name, value, 0)
    return params


def parse_urlencoded(body: bytes) -> dict[str, Any]:
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest("Malformed request body: invalid form encoding") from exc
    return parse_rails_form(pairs)
