"""Conformance with Atlassian's own Statuspage OpenAPI document (issue #9).

Every one of its 112 operations is sent to our server as the spec describes it, twice where the
spec gives a body: a JSON body built from the request schema, and the form-encoded body of the
operation's `x-code-samples` curl. Placeholder values ("string", "your-id", 0) are rewritten by the
named rules of RULES / KEY_RULES, ids by real ones. An operation passes when every request answers
the spec's 2xx code and every field the spec's success schema lists is present in our response
(recursively; presence, not types), allowing the spec defects named in ALLOWANCES.

Operations not implemented yet must not fail CI, so this is one test: it writes
test-artifacts/conformance.md, prints "conformance: N of 112 operations pass", and asserts that
no request answered 5xx and that at least EXPECTED_PASSING operations pass. Run with `-s` to see
the summary.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.core.config import Settings
from app.main import create_app
from tests.conformance.spec import (
    OMIT,
    SPEC_PATH,
    Allowance,
    Checker,
    KeyRule,
    Operation,
    Rewriter,
    Rule,
    curl_sample,
    encode_form,
    form_dict,
    list_for_single,
    load_spec,
    operations,
    request_schema,
    response_schema,
    unwrap_for,
)
from tests.conformance.world import RouteTable, World
from tests.conftest import Tenant

pytestmark = pytest.mark.skipif(not SPEC_PATH.exists(), reason=f"no Statuspage spec at {SPEC_PATH}")
EXPECTED_PASSING = 112  # every operation of the spec
REPORT = Path(__file__).resolve().parents[2] / "test-artifacts" / "conformance.md"

Ids = dict[str, str]
NOW = datetime.now(UTC)
_serial = iter(range(1, 1_000_000))
RULES_USED: Counter[str] = Counter()  # requests each rule rewrote, for the report


def _unique(template: str) -> Callable[[Ids], str]:
    return lambda ids: template.format(n=next(_serial))


def _ids(*names: str) -> Callable[[Ids], Any]:
    """A list of the named real ids (OMIT when none of them exists, e.g. route not there yet)."""

    def value(ids: Ids) -> Any:
        found = [ids[n] for n in names if n in ids]
        return found or OMIT

    return value


def _id(name: str) -> Callable[[Ids], Any]:
    return lambda ids: ids.get(name, OMIT)


def _const(value: Any) -> Callable[[Ids], Any]:
    return lambda ids: value


# --------------------------------------------------------------------------------------------
# Rewriting rules: every value the conformance run changes in a spec request, and why.
# Matched against the dotted field path of the body (array markers dropped); first match wins.

RULES: tuple[Rule, ...] = (
    # ids -> real ids of the populated tenant
    Rule(
        "component ids -> real component",
        ("component_ids", "*.component_ids"),
        _ids("component_id"),
        "the samples say `your-id`; the id must name a component of the page",
    ),
    Rule(
        "group members -> real component",
        ("component_group.components",),
        _ids("member_component_id"),
        "a group needs existing components; POST uses a fresh one (see PREPARE) so the shared "
        "group keeps its member",
    ),
    Rule(
        "component group_id -> real group",
        ("component.group_id",),
        _id("group_id"),
        "the id of the populated component group",
    ),
    Rule(
        "metric ids -> real metric", ("metric_ids", "*.metric_ids"), _ids("metric_id"), "real ids"
    ),
    Rule(
        "page access group ids -> real group",
        ("page_access_group_ids", "*.page_access_group_ids"),
        _ids("page_access_group_id"),
        "real ids",
    ),
    Rule(
        "page access user ids -> real user",
        ("page_access_user_ids", "*.page_access_user_ids"),
        _ids("page_access_user_id"),
        "real ids",
    ),
    Rule(
        "subscriber's page access user omitted",
        ("subscriber.page_access_user",),
        _const(OMIT),
        "only meaningful on audience-specific pages; the tenant's page is public (our server "
        "refuses it there with a 422)",
    ),
    Rule(
        "page subscriber JSON: webhook channel, phone omitted",
        ("subscriber.phone_number", "subscriber.phone_country"),
        _const(OMIT),
        "the schema lists the fields of every channel and a subscriber has one: email + endpoint "
        "make a webhook subscriber",
        operations=("POST /pages/{page_id}/subscribers",),
    ),
    Rule(
        "incident subscriber JSON: SMS channel, email omitted",
        ("subscriber.email",),
        _const(OMIT),
        "the schema lists email and phone; a subscriber has one channel (the form sample "
        "covers email)",
        operations=("POST /pages/{page_id}/incidents/{incident_id}/subscribers",),
    ),
    Rule(
        "bulk subscribers -> real subscriber",
        ("subscribers",),
        _ids("bulk_subscriber_id"),
        "spec types it string ('array of subscriber codes or \"all\"'); we send the array form "
        "with a subscriber in the state the operation acts on (see PREPARE)",
    ),
    Rule(
        "template group_id omitted",
        ("template.group_id",),
        _const(OMIT),
        "names a *template* group, which the API has no way to create",
    ),
    # enums: the samples send "string"
    Rule(
        "incident status -> investigating",
        ("incident.status",),
        _const("investigating"),
        "first value of the spec enum",
    ),
    Rule(
        "component status -> operational",
        ("component.status",),
        _const("operational"),
        "first value of the spec enum",
    ),
    Rule(
        "template update_status -> investigating",
        ("template.update_status",),
        _const("investigating"),
        "first value of the spec enum",
    ),
    Rule(
        "metrics provider type -> Self",
        ("metrics_provider.type",),
        _const("Self"),
        "one of the types the description lists; Self needs no third-party credentials",
    ),
    Rule(
        "metric transform -> average",
        ("metric.transform",),
        _const("average"),
        "first of the values the description lists",
    ),
    Rule(
        "embed position -> bottom-left",
        ("status_embed_config.position",),
        _const("bottom-left"),
        "a corner (the spec does not enumerate them)",
    ),
    Rule(
        "bulk subscriber type -> email",
        ("type",),
        _const("email"),
        "first value of the spec enum (unsubscribe/reactivate filters)",
    ),
    # contact details
    Rule(
        "emails -> user+N@example.com",
        ("*email",),
        _unique("user+{n}@example.com"),
        "a valid address, unique per request (page access users and team members are unique "
        "per page/organization)",
    ),
    Rule(
        "URLs -> https://hooks.example.com/x",
        ("*endpoint", "*metric_base_uri", "page.url", "page.support_url"),
        _const("https://hooks.example.com/x"),
        "a public https URL (private targets are refused; the app runs with "
        "outbound_allow_private=True anyway)",
    ),
    Rule(
        "phone number",
        ("*phone_number",),
        _const("2025550105"),
        "a dialable US number",
    ),
    Rule("phone country", ("*phone_country",), _const("US"), "two-letter country"),
    Rule(
        "external login -> unique uid",
        ("page_access_user.external_login",),
        _unique("uid-{n}"),
        "an IdP uid, unique per page",
    ),
    Rule(
        "page access group name -> unique",
        ("page_access_group.name", "page_access_group.external_identifier"),
        _unique("Viewers {n}"),
        "groups are told apart by name / external identifier",
    ),
    Rule(
        "password -> long passphrase",
        ("user.password",),
        _const("correct-horse-battery-staple"),
        "'string' is too weak to be a realistic password",
    ),
    # page settings
    Rule("page domain", ("page.domain",), _const("status.example.com"), "a hostname (CNAME)"),
    Rule(
        "page subdomain -> unique",
        ("page.subdomain",),
        _unique("conformance-{n}"),
        "a DNS label",
    ),
    Rule(
        "CSS colours -> hex",
        ("page.css_*", "status_embed_config.*_color"),
        _const("ffffff"),
        "hex colour without '#', as Statuspage returns them",
    ),
    Rule("time zone -> UTC", ("page.time_zone",), _const("UTC"), "an IANA zone"),
    Rule(
        "page allow_* -> true",
        ("page.allow_*",),
        _const(True),
        "keep the page accepting subscribers for the operations that run after it",
    ),
    Rule(
        "viewers_must_be_team_members -> false",
        ("page.viewers_must_be_team_members",),
        _const(False),
        "keep the page public",
    ),
    Rule(
        "component showcase -> true",
        ("component.showcase",),
        _const(True),
        "keep uptime available: the uptime endpoints answer only for showcased components",
    ),
    # times and numbers
    Rule(
        "realtime incident: no maintenance window",
        ("incident.scheduled_for", "incident.scheduled_until"),
        _const(OMIT),
        "the body's status is realtime (investigating); the schema mixes realtime and "
        "maintenance fields, and a maintenance window on a realtime incident is contradictory "
        "(maintenances are created with a window by the populate step)",
    ),
    Rule(
        "display_at -> now",
        ("incident_update.display_at",),
        _const(NOW.isoformat()),
        "an ISO timestamp",
    ),
    Rule(
        "backfill_date -> yesterday",
        ("incident.backfill_date",),
        _const((NOW - timedelta(days=1)).date().isoformat()),
        "a date",
    ),
    Rule(
        "start_date -> today",
        ("component.start_date",),
        _const(date.today().isoformat()),
        "a YYYY-MM-DD date",
    ),
    Rule(
        "metric timestamp -> now",
        ("data.timestamp", "data.*.timestamp"),
        _const(int(NOW.timestamp())),
        "the sample's 0 is 1970; points older than 28 days are refused",
    ),
    Rule("y_axis_max -> 100", ("metric.y_axis_max",), _const(100), "above y_axis_min (0)"),
    Rule(
        "incident metadata -> spec example",
        ("incident.metadata",),
        _const({"jira": {"issue_id": "value"}}),
        "the Incident schema's example (top-level values must be objects)",
    ),
    Rule(
        "reminder_intervals -> default",
        ("incident.reminder_intervals",),
        _const("[3, 6, 12, 24]"),
        "the default the description gives",
    ),
)

KEY_RULES: tuple[KeyRule, ...] = (
    KeyRule(
        "data[metric_id] -> real metric id",
        ("data.metric_id",),
        _id("metric_id"),
        "the bulk data map is keyed by metric id; `metric_id` is the spec's sample key",
    ),
    KeyRule(
        "pages[page_id] -> real page id",
        ("pages.page_id",),
        _id("page_id"),
        "the permissions map is keyed by page id",
    ),
    KeyRule(
        "incident components map key -> real component id",
        ("incident.components.*",),
        _id("component_id"),
        "the spec models {component_id: status} with a random sample key",
    ),
)

# --------------------------------------------------------------------------------------------
# Known defects of the spec (API.md section 6), each allowed where it applies.

ALLOWANCES: list[Allowance] = [
    Allowance(
        "GET /metrics returns a list, spec says a single Metric",
        (
            "GET /pages/{page_id}/metrics",
            "GET /pages/{page_id}/metrics_providers/{metrics_provider_id}/metrics",
        ),
        "list-for-single",
        "both list endpoints answer [Metric]; each item is checked against Metric",
    ),
    Allowance(
        "uptime related_events is an array, spec says object",
        ("*",),
        "object-is-array",
        "ComponentUptime/ComponentGroupUptime.related_events (and the group's nested incidents) "
        "are arrays of objects in reality and in the spec's own example",
        field="related_events*",
    ),
    Allowance(
        "bulk metric data is keyed by the metric id, spec says `metric_id`",
        ("POST /pages/{page_id}/metrics/data",),
        "placeholder-key",
        "MetricAddResponse has one property named `metric_id` standing for any metric id",
        field="metric_id",
        id_name="metric_id",
    ),
    Allowance(
        "permissions response is not wrapped in `data`",
        (
            "GET /organizations/{organization_id}/permissions/{user_id}",
            "PUT /organizations/{organization_id}/permissions/{user_id}",
        ),
        "unwrapped",
        "the Permissions schema wraps the object in {data: ...}; the spec's own example does not",
    ),
    Allowance(
        "permissions `pages` is an array, the schema says a map",
        (
            "GET /organizations/{organization_id}/permissions/{user_id}",
            "PUT /organizations/{organization_id}/permissions/{user_id}",
        ),
        "object-is-array",
        "the schema models pages as an object (page_id: ...); the spec's own example (and our "
        "response) is an array of {page_id, page_configuration, ...}",
        field="*pages",
    ),
    Allowance(
        "uptime warnings not an array",
        ("*",),
        "type-only",
        "spec types `warnings` string; it is an array of strings (spec example too)",
    ),
    Allowance(
        "logo fields typed string",
        ("*",),
        "type-only",
        "Page favicon_logo/transactional_logo/hero_cover/email_logo/twitter_logo are objects",
    ),
    Allowance(
        "GroupComponent.components/position typed string",
        ("*",),
        "type-only",
        "components is an array of ids, position an integer",
    ),
    Allowance("Subscriber.components typed string", ("*",), "type-only", "an array of ids"),
    Allowance("Incident.metadata typed `Object`", ("*",), "type-only", "a JSON object"),
    Allowance("Incident.postmortem_published_at typed boolean", ("*",), "type-only", "a timestamp"),
    Allowance("MetricsProvider.page_id typed integer", ("*",), "type-only", "a string id"),
    Allowance("PageAccessUser.page_access_group_ids typed string", ("*",), "type-only", "an array"),
    Allowance(
        "PATCH/PUT page access user has no request body in the spec",
        (
            "PATCH /pages/{page_id}/page_access_users/{page_access_user_id}",
            "PUT /pages/{page_id}/page_access_users/{page_access_user_id}",
            "POST /pages/{page_id}/components/{component_id}/page_access_groups",
        ),
        "request",
        "the JSON variant is the JSON twin of the curl sample's fields",
    ),
    Allowance(
        "PUT curl samples say -X PATCH",
        ("*",),
        "request",
        "every PUT operation's sample is its PATCH twin; the form body is sent with the "
        "operation's own method",
    ),
    Allowance(
        "curl sample URLs are wrong",
        ("*",),
        "request",
        "`page_access_groups{page_access_group_id}` lacks a slash; DELETE of one component of a "
        "page access user and DELETE of a user omit the id: the spec path is used",
    ),
    Allowance(
        "incident components map modelled with a random property name",
        ("*",),
        "request",
        "handled by the key rule `incident components map key -> real component id`",
    ),
]

# --------------------------------------------------------------------------------------------
# Operations that change what later ones need run last, each on resources prepared for it.

Prepare = Callable[[World], Awaitable[Ids]]


async def _fresh(name: str, made: str | None) -> Ids:
    return {name: made} if made else {}


async def _fresh_component(world: World) -> Ids:
    return await _fresh("component_id", await world.component("Doomed"))


async def _fresh_group_member(world: World) -> Ids:
    return await _fresh("member_component_id", await world.component("Member"))


async def _fresh_group(world: World) -> Ids:
    return await _fresh("group_id", await world.group(await world.component("Doomed")))


async def _fresh_incident(world: World) -> Ids:
    made = await world.incident()
    return {"incident_id": made["id"]} if made else {}


async def _fresh_subscriber(world: World) -> Ids:
    made = await world.subscriber(confirmed=True)
    return {"subscriber_id": made, "bulk_subscriber_id": made} if made else {}


async def _unconfirmed_subscriber(world: World) -> Ids:
    made = await world.subscriber(confirmed=False)
    return {"subscriber_id": made, "bulk_subscriber_id": made} if made else {}


async def _fresh_incident_subscriber(world: World) -> Ids:
    return await _fresh(
        "incident_subscriber_id",
        await world.incident_subscriber(world.ids.get("incident_id")),
    )


async def _fresh_metric(world: World) -> Ids:
    return await _fresh("metric_id", await world.metric(world.ids.get("metrics_provider_id")))


async def _fresh_provider(world: World) -> Ids:
    return await _fresh("metrics_provider_id", await world.provider())


async def _fresh_page_access_user(world: World) -> Ids:
    return await _fresh("page_access_user_id", await world.page_access_user())


async def _fresh_page_access_group(world: World) -> Ids:
    return await _fresh("page_access_group_id", await world.page_access_group())


async def _fresh_user(world: World) -> Ids:
    return await _fresh("user_id", await world.user())


async def _draft_postmortem(world: World) -> Ids:
    if "incident_id" in world.ids:
        await world.postmortem(world.ids["incident_id"])
    return {}


async def _published_postmortem(world: World) -> Ids:
    incident = world.ids.get("incident_id")
    if incident:
        await world.postmortem(incident)
        await world.client.put(
            f"{world.page}/incidents/{incident}/postmortem/publish",
            headers=world.tenant.auth,
            json={"postmortem": {"notify_subscribers": False}},
        )
    return {}


def _grant(kind: str, what: str) -> Prepare:
    """Re-add the shared component/metric to the shared page access user/group before one
    variant removes it, so each variant removes something that is there."""

    async def prepare(world: World) -> Ids:
        owner = world.ids.get(f"{kind}_id")
        item = world.ids.get(f"{what}_id")
        if owner and item:
            plural = "page_access_users" if kind == "page_access_user" else "page_access_groups"
            await world.client.patch(
                f"{world.page}/{plural}/{owner}/{what}s",
                headers=world.tenant.auth,
                json={f"{what}_ids": [item]},
            )
        return {}

    return prepare


@dataclass(frozen=True)
class Preparation:
    name: str
    prepare: Prepare
    why: str
    last: bool = True  # run after every non-destructive operation


PAU = "/pages/{page_id}/page_access_users/{page_access_user_id}"
PAG = "/pages/{page_id}/page_access_groups/{page_access_group_id}"
INC = "/pages/{page_id}/incidents/{incident_id}"
PREPARE: dict[str, Preparation] = {
    f"DELETE {PAU}": Preparation("fresh page access user", _fresh_page_access_user, "deleted"),
    f"DELETE {PAU}/components/{{component_id}}": Preparation(
        "grant the component first", _grant("page_access_user", "component"), "removed"
    ),
    f"DELETE {PAU}/metrics/{{metric_id}}": Preparation(
        "grant the metric first", _grant("page_access_user", "metric"), "removed"
    ),
    f"DELETE {PAG}": Preparation("fresh page access group", _fresh_page_access_group, "deleted"),
    f"DELETE {PAG}/components/{{component_id}}": Preparation(
        "grant the component first", _grant("page_access_group", "component"), "removed"
    ),
    "POST /pages/{page_id}/subscribers/unsubscribe": Preparation(
        "fresh active subscriber", _fresh_subscriber, "unsubscribed"
    ),
    "POST /pages/{page_id}/subscribers/resend_confirmation": Preparation(
        "fresh unconfirmed subscriber",
        _unconfirmed_subscriber,
        "only unconfirmed email subscribers get a confirmation",
        last=False,
    ),
    "POST /pages/{page_id}/subscribers/{subscriber_id}/resend_confirmation": Preparation(
        "fresh unconfirmed subscriber",
        _unconfirmed_subscriber,
        "only unconfirmed email subscribers get a confirmation",
        last=False,
    ),
    "POST /pages/{page_id}/subscribers/reactivate": Preparation(
        "fresh active subscriber",
        _fresh_subscriber,
        "quarantine cannot be reached through the API; reactivating a non-quarantined one",
        last=False,
    ),
    "DELETE /pages/{page_id}/subscribers/{subscriber_id}": Preparation(
        "fresh subscriber", _fresh_subscriber, "unsubscribed"
    ),
    f"DELETE {INC}": Preparation("fresh incident", _fresh_incident, "deleted"),
    f"DELETE {INC}/subscribers/{{subscriber_id}}": Preparation(
        "fresh incident subscriber", _fresh_incident_subscriber, "unsubscribed"
    ),
    f"DELETE {INC}/postmortem": Preparation("(re)write a draft", _draft_postmortem, "deleted"),
    f"PUT {INC}/postmortem/publish": Preparation(
        "(re)write a draft", _draft_postmortem, "publish needs a draft", last=False
    ),
    f"PUT {INC}/postmortem/revert": Preparation(
        "publish first", _published_postmortem, "revert needs a published postmortem", last=False
    ),
    "DELETE /pages/{page_id}/components/{component_id}": Preparation(
        "fresh component", _fresh_component, "deleted"
    ),
    "POST /pages/{page_id}/component-groups": Preparation(
        "fresh member component",
        _fresh_group_member,
        "moving the shared group's only member would empty (and delete) that group",
        last=False,
    ),
    "DELETE /pages/{page_id}/component-groups/{id}": Preparation(
        "fresh group", _fresh_group, "deleted"
    ),
    "DELETE /pages/{page_id}/metrics/{metric_id}": Preparation(
        "fresh metric", _fresh_metric, "deleted"
    ),
    "DELETE /pages/{page_id}/metrics_providers/{metrics_provider_id}": Preparation(
        "fresh metrics provider", _fresh_provider, "deleted"
    ),
    "DELETE /organizations/{organization_id}/users/{user_id}": Preparation(
        "fresh user", _fresh_user, "deleted"
    ),
}


def _runs_last(op: Operation) -> bool:
    preparation = PREPARE.get(op.key)
    return op.method == "DELETE" or (preparation is not None and preparation.last)


# --------------------------------------------------------------------------------------------
# The run


@dataclass
class Outcome:
    op: Operation
    passed: bool = True
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    server_error: bool = False
    seconds: float = 0.0


def _param_id(op: Operation, name: str) -> str:
    if name == "id":
        return "group_id"
    if name == "subscriber_id" and "/incidents/" in op.path:
        return "incident_subscriber_id"
    return name


def _url(op: Operation, ids: Ids) -> str | None:
    path = op.path
    for name in op.path_params:
        value = ids.get(_param_id(op, name))
        if value is None:
            return None
        path = path.replace("{" + name + "}", value)
    return "/v1" + path


def _concrete_probe(op: Operation) -> str:
    path = op.path
    for name in op.path_params:
        path = path.replace("{" + name + "}", "probe0000000")
    return "/v1" + path


def _classify(status: int) -> str:
    if status >= 500:
        return "server error (5xx)"
    if status in (404, 405):
        return "not found / not allowed"
    return "status code differs"


async def _run_operation(
    spec: dict[str, Any], op: Operation, world: World, routes: RouteTable
) -> Outcome:
    outcome = Outcome(op)
    if not routes.implemented(op.method, _concrete_probe(op)):
        outcome.passed = False
        outcome.reasons.append("route not implemented")
        return outcome
    schema = request_schema(spec, op)
    sample = curl_sample(op)
    variants: list[str] = []
    if schema is not None or (sample and sample.data):
        variants.append("json")
    if sample and sample.data:
        variants.append("form")
    if not variants or (schema is not None and sample is not None and not sample.data):
        variants.append("plain")
    preparation = PREPARE.get(op.key)
    for variant in variants:
        ids = dict(world.ids)
        ids.setdefault("member_component_id", ids.get("group_member_id", ""))
        ids.setdefault("bulk_subscriber_id", ids.get("subscriber_id", ""))
        ids = {k: v for k, v in ids.items() if v}
        if preparation is not None:
            ids.update(await preparation.prepare(world))
        url = _url(op, ids)
        if url is None:
            missing = [n for n in op.path_params if _param_id(op, n) not in ids]
            outcome.passed = False
            outcome.reasons.append(f"{variant}: no real id for {', '.join(missing)}")
            continue
        rewriter = Rewriter(RULES, KEY_RULES, ids, op.key)
        headers = dict(world.tenant.auth)
        content: bytes | None = None
        if variant == "json":
            body = rewriter.build(spec, schema) if schema is not None else None
            if body is None and sample is not None:
                body = form_dict(rewriter.form(sample.data))
            content = httpx.Request("POST", "/", json=body).content
            headers["Content-Type"] = "application/json"
        elif variant == "form" and sample is not None:
            content = encode_form(rewriter.form(sample.data)).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        RULES_USED.update(rewriter.used)
        response = await world.client.request(op.method, url, headers=headers, content=content)
        problems = _check_response(spec, op, response, ids, outcome)
        if problems:
            outcome.passed = False
            outcome.reasons.extend(f"{variant}: {p}" for p in problems)
    return outcome


def _check_response(
    spec: dict[str, Any], op: Operation, response: httpx.Response, ids: Ids, outcome: Outcome
) -> list[str]:
    expected = op.success_code
    if response.status_code >= 500:
        outcome.server_error = True
    if response.status_code != expected:
        detail = response.text[:160].replace("\n", " ")
        kind = _classify(response.status_code)
        return [f"{kind}: got {response.status_code}, spec says {expected} ({detail})"]
    schema = response_schema(spec, op)
    if schema is None:
        return []
    try:
        body = response.json()
    except ValueError:
        return ["response is not JSON"]
    checker = Checker(spec, [a for a in ALLOWANCES if a.applies(op)], ids)
    unwrap = unwrap_for(op, ALLOWANCES)
    if unwrap is not None and isinstance(body, dict) and "data" not in body:
        checker.used.add(unwrap.name)
        schema = schema["properties"]["data"]
    single = list_for_single(op, ALLOWANCES)
    if single is not None and isinstance(body, list) and schema.get("type") != "array":
        checker.used.add(single.name)
        schema = {"type": "array", "items": schema}
    if schema.get("type") == "array" and body == []:
        outcome.notes.append("empty list: item fields not checked")
    problems = checker.check(schema, body)
    outcome.notes.extend(f"allowance: {name}" for name in sorted(checker.used))
    return problems


def _report(outcomes: list[Outcome], skipped: list[str], seconds: float, populated: float) -> str:
    passing = sum(o.passed for o in outcomes)
    slowest = sorted(outcomes, key=lambda o: -o.seconds)[:5]
    lines = [
        "# Conformance with Atlassian's Statuspage OpenAPI spec",
        "",
        f"conformance: {passing} of {len(outcomes)} operations pass ({seconds:.1f} s)",
        "",
        f"Setup (app, tenant, populating it) took {populated:.1f} s; slowest operations: "
        + ", ".join(f"`{o.op.key}` {o.seconds:.2f} s" for o in slowest),
        "",
        "Generated by tests/conformance/test_statuspage_spec.py. Each operation is sent as a JSON "
        "body built from the spec's request schema and as the form body of its curl sample.",
        "",
        "| Operation | Result | Details |",
        "|---|---|---|",
    ]
    for o in outcomes:
        details = "; ".join(o.reasons + sorted(set(o.notes))).replace("|", "\\|")
        lines.append(f"| `{o.op.key}` | {'pass' if o.passed else 'FAIL'} | {details} |")
    lines += ["", "## Allowances (spec defects tolerated)", ""]
    lines += [f"- **{a.name}** ({a.kind}): {a.why}" for a in ALLOWANCES]
    lines += ["", "## Rewriting rules", ""]
    used = RULES_USED
    lines += [
        f"- **{r.name}** (`{', '.join(r.fields)}`; {used[r.name]} requests): {r.why}" for r in RULES
    ]
    lines += [
        f"- **{k.name}** (key `{', '.join(k.fields)}`; {used[k.name]} requests): {k.why}"
        for k in KEY_RULES
    ]
    lines += ["", "## Prepared operations", ""]
    lines += [f"- `{key}`: {p.name} ({p.why})" for key, p in PREPARE.items()]
    if skipped:
        lines += ["", "## Resources not created (route missing)", ""]
        lines += [f"- {s}" for s in skipped]
    return "\n".join(lines) + "\n"


async def test_statuspage_spec_conformance(
    make_client: Callable[..., Any], make_tenant: Callable[..., Any], settings: Settings
) -> None:
    started = time.monotonic()
    RULES_USED.clear()
    spec = load_spec()
    ops = operations(spec)
    assert len(ops) == 112
    client: httpx.AsyncClient = await make_client(outbound_allow_private=True)
    tenant: Tenant = await make_tenant()
    routes = RouteTable(create_app(settings.model_copy(update={"outbound_allow_private": True})))
    world = World(client, tenant, routes)
    await world.populate()

    ordered = [op for op in ops if not _runs_last(op)] + [op for op in ops if _runs_last(op)]
    populated = time.monotonic() - started
    by_key: dict[str, Outcome] = {}
    for op in ordered:
        op_started = time.monotonic()
        by_key[op.key] = await _run_operation(spec, op, world, routes)
        by_key[op.key].seconds = time.monotonic() - op_started
    outcomes = [by_key[op.key] for op in ops]  # report in the spec's order
    seconds = time.monotonic() - started

    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(_report(outcomes, world.skipped, seconds, populated))
    passing = sum(o.passed for o in outcomes)
    summary = [f"conformance: {passing} of {len(ops)} operations pass ({seconds:.1f} s; {REPORT})"]
    summary += [
        f"  FAIL {o.op.key}: {'; '.join(o.reasons)[:300]}" for o in outcomes if not o.passed
    ]
    print("\n" + "\n".join(summary))  # noqa: T201 - the run's summary, seen with `pytest -s`

    errors = [o.op.key for o in outcomes if o.server_error]
    assert not errors, f"5xx from: {errors}"
    assert passing >= EXPECTED_PASSING, f"{passing} operations pass, expected {EXPECTED_PASSING}"
