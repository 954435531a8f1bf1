"""The Status API v2 documents: Statuspage's shapes (API.md 5.2), built through the /v1 API."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from app.public.schemas import (
    PublicComponents,
    PublicIncidents,
    PublicScheduledMaintenances,
    PublicStatusDocument,
    PublicSummary,
)
from tests.conftest import Tenant
from tests.public.conftest import Served, component, feed, incident, v1

LOCAL_NEW_YORK = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}-0[45]:00$")
LOCAL_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@dataclass
class Built:
    group: dict[str, Any]
    members: list[dict[str, Any]]
    standalone: dict[str, Any]
    hidden: dict[str, Any]
    open_incident: dict[str, Any]
    resolved_incident: dict[str, Any]
    upcoming: dict[str, Any]
    active: dict[str, Any]


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


async def build(served: Served, tenant: Tenant) -> Built:
    client = served.client
    await v1(client, tenant, "PATCH", "", {"page": {"time_zone": "America/New_York"}})
    first = await component(client, tenant, "API")
    second = await component(client, tenant, "Web")
    group = await v1(
        client,
        tenant,
        "POST",
        "/component-groups",
        {"component_group": {"name": "Core", "components": [first["id"], second["id"]]}},
    )
    standalone = await component(client, tenant, "Billing", description="Invoices")
    hidden = await component(client, tenant, "Legacy", only_show_if_degraded=True)
    open_incident = await incident(
        client,
        tenant,
        "API errors",
        status="investigating",
        body="Looking",
        components={first["id"]: "major_outage"},
    )
    for status, body in (("identified", "Found it"), ("monitoring", "Fixed, watching")):
        await v1(
            client,
            tenant,
            "PATCH",
            f"/incidents/{open_incident['id']}",
            {"incident": {"status": status, "body": body}},
        )
    resolved = await incident(client, tenant, "Old trouble", status="investigating", body="x")
    await v1(
        client,
        tenant,
        "PATCH",
        f"/incidents/{resolved['id']}",
        {"incident": {"status": "resolved", "body": "Done"}},
    )
    now = datetime.now(UTC)
    upcoming = await incident(
        client,
        tenant,
        "Database upgrade",
        status="scheduled",
        body="Planned",
        scheduled_for=_iso(now + timedelta(days=2)),
        scheduled_until=_iso(now + timedelta(days=2, hours=2)),
        component_ids=[standalone["id"]],
    )
    active = await incident(
        client,
        tenant,
        "Network work",
        status="in_progress",
        body="Under way",
        scheduled_for=_iso(now - timedelta(hours=1)),
        scheduled_until=_iso(now + timedelta(hours=1)),
    )
    return Built(
        group, [first, second], standalone, hidden, open_incident, resolved, upcoming, active
    )


async def _get(served: Served, page_id: str, document: str, model: type[BaseModel]) -> Any:
    response = await served.client.get(feed(page_id, document))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    model.model_validate(body)  # exactly the documented shape: no field more, none missing
    return body


def _ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


async def test_summary_shape(served: Served, tenant: Tenant) -> None:
    built = await build(served, tenant)
    summary = await _get(served, tenant.page_id, "summary.json", PublicSummary)
    assert list(summary) == ["page", "components", "incidents", "scheduled_maintenances", "status"]

    page = summary["page"]
    assert list(page) == ["id", "name", "url", "time_zone", "updated_at"]
    assert page["id"] == tenant.page_id
    assert page["time_zone"] == "America/New_York"
    assert page["url"].endswith(f"/p/{tenant.page_id}")
    assert LOCAL_NEW_YORK.match(page["updated_at"]), page["updated_at"]

    # Display order: the group then its members, then the top-level component; hidden left out.
    first, second = built.members
    assert _ids(summary["components"]) == [
        built.group["id"],
        first["id"],
        second["id"],
        built.standalone["id"],
    ]
    by_id = {c["id"]: c for c in summary["components"]}
    assert built.hidden["id"] not in by_id
    group_row = by_id[built.group["id"]]
    assert group_row["group"] is True
    assert group_row["components"] == [first["id"], second["id"]]
    assert group_row["status"] == "major_outage"
    assert "components" not in by_id[first["id"]]
    assert by_id[first["id"]]["group_id"] == built.group["id"]
    assert by_id[built.standalone["id"]]["description"] == "Invoices"
    for row in summary["components"]:
        assert LOCAL_NEW_YORK.match(row["created_at"]) and LOCAL_NEW_YORK.match(row["updated_at"])
        assert "automation_email" not in row

    assert _ids(summary["incidents"]) == [built.open_incident["id"]]
    open_incident = summary["incidents"][0]
    assert open_incident["status"] == "monitoring"
    assert open_incident["impact"] == "critical"
    assert open_incident["shortlink"] == f"{page['url']}/incidents/{open_incident['id']}"
    assert "scheduled_for" not in open_incident and "metadata" not in open_incident
    updates = open_incident["incident_updates"]
    assert [u["status"] for u in updates] == ["monitoring", "identified", "investigating"]
    assert updates[-1]["affected_components"] == [
        {
            "code": first["id"],
            "name": "API",
            "old_status": "operational",
            "new_status": "major_outage",
        }
    ]
    assert [c["id"] for c in open_incident["components"]] == [first["id"]]
    assert LOCAL_NEW_YORK.match(open_incident["started_at"])
    assert LOCAL_NEW_YORK.match(updates[0]["display_at"])

    maintenances = {m["id"]: m for m in summary["scheduled_maintenances"]}
    assert set(maintenances) == {built.upcoming["id"], built.active["id"]}
    upcoming = maintenances[built.upcoming["id"]]
    assert upcoming["impact"] == "maintenance" and upcoming["status"] == "scheduled"
    assert LOCAL_NEW_YORK.match(upcoming["scheduled_for"])

    # A mixed page with a major outage is "major", raised by the critical unresolved incident.
    assert summary["status"] == {"indicator": "critical", "description": "Major System Outage"}


async def test_every_feed(served: Served, tenant: Tenant) -> None:
    built = await build(served, tenant)
    page_id = tenant.page_id
    status = await _get(served, page_id, "status.json", PublicStatusDocument)
    assert list(status) == ["page", "status"]

    components = await _get(served, page_id, "components.json", PublicComponents)
    assert list(components) == ["page", "components"]
    assert built.hidden["id"] not in _ids(components["components"])

    incidents = await _get(served, page_id, "incidents.json", PublicIncidents)
    assert _ids(incidents["incidents"]) == [
        built.resolved_incident["id"],
        built.open_incident["id"],
    ]
    resolved = incidents["incidents"][0]
    assert resolved["status"] == "resolved" and resolved["resolved_at"] is not None
    unresolved = await _get(served, page_id, "incidents/unresolved.json", PublicIncidents)
    assert _ids(unresolved["incidents"]) == [built.open_incident["id"]]

    every = await _get(served, page_id, "scheduled-maintenances.json", PublicScheduledMaintenances)
    assert _ids(every["scheduled_maintenances"]) == [built.upcoming["id"], built.active["id"]]
    upcoming = await _get(
        served, page_id, "scheduled-maintenances/upcoming.json", PublicScheduledMaintenances
    )
    assert _ids(upcoming["scheduled_maintenances"]) == [built.upcoming["id"]]
    assert [c["id"] for c in upcoming["scheduled_maintenances"][0]["components"]] == [
        built.standalone["id"]
    ]
    active = await _get(
        served, page_id, "scheduled-maintenances/active.json", PublicScheduledMaintenances
    )
    assert _ids(active["scheduled_maintenances"]) == [built.active["id"]]


async def test_hidden_component_shows_once_degraded(served: Served, tenant: Tenant) -> None:
    hidden = await component(served.client, tenant, "Legacy", only_show_if_degraded=True)
    body = (await served.client.get(feed(tenant.page_id, "components.json"))).json()
    assert body["components"] == []
    await v1(
        served.client,
        tenant,
        "PATCH",
        f"/components/{hidden['id']}",
        {"component": {"status": "partial_outage"}},
    )
    body = (await served.client.get(feed(tenant.page_id, "components.json"))).json()
    assert _ids(body["components"]) == [hidden["id"]]


async def test_utc_page_and_fifty_cap(served: Served, tenant: Tenant) -> None:
    for number in range(52):
        await incident(served.client, tenant, f"Incident {number}", status="resolved", body="x")
    body = (await served.client.get(feed(tenant.page_id, "incidents.json"))).json()
    names = [i["name"] for i in body["incidents"]]
    assert len(names) == 50
    assert names[0] == "Incident 51" and names[-1] == "Incident 2"  # newest first
    assert LOCAL_UTC.match(body["page"]["updated_at"])
    assert LOCAL_UTC.match(body["incidents"][0]["created_at"])


async def test_postmortem_status_and_unknown_page(served: Served, tenant: Tenant) -> None:
    missing = await served.client.get(feed("nosuchpage00", "summary.json"))
    assert missing.status_code == 404
    assert missing.json()["message"] == "The requested resource could not be found."
