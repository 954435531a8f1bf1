"""Mechanics of the Statuspage spec conformance run: reading Atlassian's OpenAPI document,
turning its request schemas and `x-code-samples` curls into requests, checking responses for
the fields the spec lists, and writing the report.

The *policy* (which placeholder values are rewritten, which spec defects are allowed) lives in
the test module as named tables; this module only applies them.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

# Atlassian's own spec (API.md section 6: from developer.statuspage.io), kept beside ours;
# STATUSPAGE_SPEC_PATH points at another copy.
SPEC_PATH = Path(
    os.environ.get(
        "STATUSPAGE_SPEC_PATH",
        str(Path(__file__).resolve().parents[2] / "openapi/statuspage/statuspage-openapi.json"),
    )
)
METHODS = ("get", "post", "put", "patch", "delete")

Ids = dict[str, str]


def load_spec(path: Path = SPEC_PATH) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(path.read_text())
    return spec


@dataclass(frozen=True)
class Operation:
    method: str  # upper case
    path: str  # the spec's path template, e.g. /pages/{page_id}/components/{component_id}
    spec: dict[str, Any] = field(repr=False, compare=False)

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def success_code(self) -> int:
        codes = [int(c) for c in self.spec["responses"] if c.startswith("2")]
        assert len(codes) == 1, (self.key, codes)
        return codes[0]

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"\{([^}]+)\}", self.path)


def operations(spec: dict[str, Any]) -> list[Operation]:
    return [
        Operation(method.upper(), path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def resolve(spec: dict[str, Any], schema: dict[str, Any] | None) -> dict[str, Any]:
    """Follow $ref (repeatedly) to the schema it names."""
    while schema is not None and "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema or {}


def request_schema(spec: dict[str, Any], op: Operation) -> dict[str, Any] | None:
    body = op.spec.get("requestBody")
    if not body:
        return None
    content = body.get("content", {})
    media = content.get("application/json")
    if media is None:
        return None  # e.g. a form-only body: only the curl sample describes it
    return resolve(spec, media.get("schema"))


def response_schema(spec: dict[str, Any], op: Operation) -> dict[str, Any] | None:
    response = op.spec["responses"][str(op.success_code)]
    media = response.get("content", {}).get("application/json")
    if media is None:
        return None
    return resolve(spec, media.get("schema"))


# --------------------------------------------------------------------------------------------
# Rewriting rules (the tables themselves are in the test module)


@dataclass(frozen=True)
class Rule:
    """Replace the value at every body field whose dotted path matches one of `fields`
    (fnmatch patterns; `[]` array markers are left out of the path, e.g. `incident.components`,
    `component_ids`, `data.*.timestamp`). `value` gets the ids of this request; returning OMIT
    drops the field. `operations` ("METHOD /path" keys) limits the rule to those operations."""

    name: str
    fields: tuple[str, ...]
    value: Callable[[Ids], Any]
    why: str
    operations: tuple[str, ...] = ()

    def matches(self, dotted: str, operation: str = "") -> bool:
        if self.operations and operation not in self.operations:
            return False
        return any(fnmatch.fnmatchcase(dotted, pattern) for pattern in self.fields)


@dataclass(frozen=True)
class KeyRule:
    """Rename a placeholder *key* (the spec models id-keyed maps as objects with a sample
    property name, e.g. `data.metric_id`, `pages.page_id`, `incident.components.gcvfrw2r8w36`)."""

    name: str
    fields: tuple[str, ...]  # patterns for the dotted path of the key itself
    key: Callable[[Ids], str | None]
    why: str

    def matches(self, dotted: str) -> bool:
        return any(fnmatch.fnmatchcase(dotted, pattern) for pattern in self.fields)


class _Omit:
    def __repr__(self) -> str:
        return "OMIT"


OMIT: Any = _Omit()


@dataclass
class Rewriter:
    rules: tuple[Rule, ...]
    key_rules: tuple[KeyRule, ...]
    ids: Ids
    operation: str = ""
    used: set[str] = field(default_factory=set)

    def rule_for(self, dotted: str) -> Rule | None:
        for rule in self.rules:
            if rule.matches(dotted, self.operation):
                self.used.add(rule.name)
                return rule
        return None

    def key_for(self, dotted: str, key: str) -> str | None:
        for rule in self.key_rules:
            if rule.matches(dotted):
                self.used.add(rule.name)
                return rule.key(self.ids)
        return key

    # JSON body from a request schema ---------------------------------------------------------

    def build(self, spec: dict[str, Any], schema: dict[str, Any], dotted: str = "") -> Any:
        schema = resolve(spec, schema)
        rule = self.rule_for(dotted) if dotted else None
        if rule is not None:
            return rule.value(self.ids)
        if "example" in schema:
            return schema["example"]
        if "default" in schema:
            return schema["default"]
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            out: dict[str, Any] = {}
            for name, child in schema.get("properties", {}).items():
                child_path = f"{dotted}.{name}" if dotted else name
                key = self.key_for(child_path, name)
                if key is None:
                    continue
                value = self.build(spec, child, child_path)
                if value is not OMIT:
                    out[key] = value
            return out
        if kind == "array":
            item = self.build(spec, schema.get("items", {}), dotted)
            return [] if item is OMIT else [item]
        return {"integer": 0, "number": 0, "boolean": False}.get(str(kind), "string")

    # form body from a curl sample ------------------------------------------------------------

    def form(self, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        done: set[str] = set()
        for raw_key, raw_value in pairs:
            parts = form_key_parts(raw_key)
            renamed: list[str] = []
            names: list[str] = []
            for part in parts:
                if part == "[]":
                    renamed.append(part)
                    continue
                dotted = ".".join([*names, part])
                new = self.key_for(dotted, part)
                if new is None:
                    break
                renamed.append(new)
                names.append(part)
            else:
                dotted = ".".join(names)
                rule = self.rule_for(dotted)
                key = form_key(renamed)
                if rule is None:
                    out.append((key, raw_value))
                    continue
                value = rule.value(self.ids)
                if value is OMIT:
                    continue
                if isinstance(value, list):
                    if key in done:
                        continue  # the rule's list already covers repeated `x[]=` entries
                    done.add(key)
                    array_key = key if key.endswith("[]") else f"{key}[]"
                    out.extend((array_key, form_scalar(v)) for v in value)
                elif isinstance(value, dict):
                    out.extend(flatten_form(key, value))
                else:
                    out.append((key, form_scalar(value)))
        return out


def form_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def flatten_form(prefix: str, value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from flatten_form(f"{prefix}[{k}]", v)
    elif isinstance(value, list):
        for v in value:
            yield from flatten_form(f"{prefix}[]", v)
    else:
        yield prefix, form_scalar(value)


def form_key_parts(key: str) -> list[str]:
    """`data[metric_id][][timestamp]` -> ['data', 'metric_id', '[]', 'timestamp']."""
    head, _, rest = key.partition("[")
    parts = [head]
    for segment in re.findall(r"\[([^\]]*)\]", "[" + rest if rest else ""):
        parts.append("[]" if segment == "" else segment)
    return parts


def form_key(parts: list[str]) -> str:
    head, *rest = parts
    return head + "".join("[]" if p == "[]" else f"[{p}]" for p in rest)


def form_dict(pairs: list[tuple[str, str]]) -> Any:
    """The JSON equivalent of form pairs (Rack's rules, enough for the spec's samples)."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = form_key_parts(key)
        node: Any = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            nxt = None if last else parts[index + 1]
            if part == "[]":
                continue
            if last:
                node[part] = value
            elif nxt == "[]":
                lst = node.setdefault(part, [])
                if index + 1 == len(parts) - 1:
                    lst.append(value)
                    break
                if not lst or parts[index + 2] in lst[-1]:
                    lst.append({})
                node = lst[-1]
            else:
                node = node.setdefault(part, {})
    return root


# --------------------------------------------------------------------------------------------
# curl samples


@dataclass(frozen=True)
class CurlSample:
    method: str
    url: str
    data: list[tuple[str, str]]


def curl_sample(op: Operation) -> CurlSample | None:
    samples = [s for s in op.spec.get("x-code-samples", []) if "curl" in s.get("source", "")]
    if not samples:
        return None
    words = shlex.split(samples[0]["source"].replace("\\\n", " "))
    method, url, data = "GET", "", []
    index = 0
    while index < len(words):
        word = words[index]
        if word == "-X":
            method = words[index + 1]
            index += 1
        elif word == "-d":
            key, _, value = words[index + 1].partition("=")
            data.append((key, value))
            index += 1
        elif word.startswith("https://"):
            url = word
        index += 1
    return CurlSample(method.upper(), url, data)


# --------------------------------------------------------------------------------------------
# Response checking


@dataclass(frozen=True)
class Allowance:
    """A known defect of the spec (API.md section 6), tolerated where it applies.

    kind:
      list-for-single   the spec says one object, the server (and Statuspage) answer an array:
                        every item is checked against the object schema
      object-is-array   at `field`, the spec says object, the real value is an array of such
                        objects: every item is checked
      placeholder-key   at `field` (a property of the response schema) the spec's property name
                        stands for a real id: it is looked up under ids[`id_name`]
      unwrapped         the spec schema wraps the object in {"data": ...}; the real response is
                        the object itself
      request           a request-side defect (body missing from the spec, sample typo, ...):
                        handled when building the request, listed here so it is named
      type-only         a wrong scalar/container type; a presence check is not affected, listed
                        so the table is complete
    """

    name: str
    operations: tuple[str, ...]  # "METHOD /path" keys, or ("*",)
    kind: str
    why: str
    field: str = ""
    id_name: str = ""

    def applies(self, op: Operation) -> bool:
        return "*" in self.operations or op.key in self.operations


@dataclass
class Checker:
    spec: dict[str, Any]
    allowances: list[Allowance]
    ids: Ids
    used: set[str] = field(default_factory=set)

    def _find(self, kind: str, dotted: str) -> Allowance | None:
        for allowance in self.allowances:
            if allowance.kind == kind and fnmatch.fnmatchcase(dotted, allowance.field):
                self.used.add(allowance.name)
                return allowance
        return None

    def check(self, schema: dict[str, Any], value: Any, dotted: str = "") -> list[str]:
        """Problems: missing fields (dotted paths) and shape mismatches that stop the walk."""
        schema = resolve(self.spec, schema)
        if value is None:
            return []  # present and null: nothing below it to check
        kind = schema.get("type")
        if kind == "array":
            if not isinstance(value, list):
                return [f"{dotted or '<body>'}: expected an array"]
            problems: list[str] = []
            for item in value:
                problems.extend(self.check(schema.get("items", {}), item, f"{dotted}[]"))
            return sorted(set(problems))
        if "properties" in schema:
            if isinstance(value, list) and self._find("object-is-array", dotted):
                problems = []
                for item in value:
                    problems.extend(self.check(schema, item, f"{dotted}[]"))
                return sorted(set(problems))
            if not isinstance(value, dict):
                return [f"{dotted or '<body>'}: expected an object"]
            problems = []
            for name, child in schema["properties"].items():
                child_path = f"{dotted}.{name}" if dotted else name
                key = name
                allowance = self._find("placeholder-key", child_path)
                if allowance is not None:
                    key = self.ids.get(allowance.id_name, name)
                if key not in value:
                    problems.append(f"missing {child_path}")
                    continue
                problems.extend(self.check(child, value[key], child_path))
            return problems
        return []


def unwrap_for(op: Operation, allowances: list[Allowance]) -> Allowance | None:
    for allowance in allowances:
        if allowance.kind == "unwrapped" and allowance.applies(op):
            return allowance
    return None


def list_for_single(op: Operation, allowances: list[Allowance]) -> Allowance | None:
    for allowance in allowances:
        if allowance.kind == "list-for-single" and allowance.applies(op):
            return allowance
    return None


def encode_form(pairs: list[tuple[str, str]]) -> str:
    return urlencode(pairs)
