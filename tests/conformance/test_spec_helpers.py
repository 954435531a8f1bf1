"""The conformance run's own mechanics: curl parsing, rewriting and the presence check."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conformance.spec import (
    OMIT,
    SPEC_PATH,
    Allowance,
    Checker,
    KeyRule,
    Rewriter,
    Rule,
    curl_sample,
    form_dict,
    load_spec,
    operations,
    resolve,
)

pytestmark = pytest.mark.skipif(not SPEC_PATH.exists(), reason=f"no Statuspage spec at {SPEC_PATH}")
SPEC = load_spec() if SPEC_PATH.exists() else {"paths": {}}
OPS = {op.key: op for op in operations(SPEC)}


def test_curl_sample_is_parsed() -> None:
    sample = curl_sample(OPS["POST /pages/{page_id}/metrics/data"])
    assert sample is not None
    assert sample.method == "POST"
    assert sample.data == [("data[metric_id][][timestamp]", "0"), ("data[metric_id][][value]", "0")]


def test_rules_rewrite_form_values_and_placeholder_keys() -> None:
    rewriter = Rewriter(
        (
            Rule("ts", ("data.*.timestamp",), lambda ids: 5, ""),
            Rule("ids", ("component_ids",), lambda ids: ["c1", "c2"], ""),
            Rule("gone", ("x.y",), lambda ids: OMIT, ""),
        ),
        (KeyRule("metric", ("data.metric_id",), lambda ids: ids["metric_id"], ""),),
        {"metric_id": "m1"},
    )
    pairs = rewriter.form(
        [
            ("data[metric_id][][timestamp]", "0"),
            ("data[metric_id][][value]", "0"),
            ("component_ids[]", "your-id"),
            ("x[y]", "string"),
        ]
    )
    assert pairs == [
        ("data[m1][][timestamp]", "5"),
        ("data[m1][][value]", "0"),
        ("component_ids[]", "c1"),
        ("component_ids[]", "c2"),
    ]
    assert form_dict([("a[b][]", "1"), ("a[c]", "2")]) == {"a": {"b": ["1"], "c": "2"}}
    assert rewriter.used == {"ts", "ids", "gone", "metric"}


def test_presence_check_finds_missing_nested_fields_and_applies_allowances() -> None:
    incident = resolve(SPEC, {"$ref": "#/components/schemas/Incident"})
    body: dict[str, Any] = dict.fromkeys(incident["properties"])
    body["incident_updates"] = [{"id": "u1"}]
    del body["shortlink"]
    problems = Checker(SPEC, [], {}).check(incident, body)
    assert "missing shortlink" in problems
    assert "missing incident_updates[].body" in problems

    uptime = resolve(SPEC, {"$ref": "#/components/schemas/ComponentUptime"})
    body = dict.fromkeys(uptime["properties"])
    body["related_events"] = [{"id": "i1"}, {}]
    assert Checker(SPEC, [], {}).check(uptime, body) == ["related_events: expected an object"]
    allowance = Allowance("array", ("*",), "object-is-array", "", field="related_events")
    checker = Checker(SPEC, [allowance], {})
    assert checker.check(uptime, body) == ["missing related_events[].id"]
    assert checker.used == {"array"}
