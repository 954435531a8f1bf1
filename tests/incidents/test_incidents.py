"""Realtime incidents: every field, the lifecycle, the component cascade, impact, events and bad input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from app.core.db import Database
from tests.api.test_auth import assert_error
from tests.components.test_components import create
from tests.conftest import Tenant
from tests.incidents.helpers import (
    count_events,
    create_incident,
    history,
    incident_events,
    patch_incident,
    revision,
)

INCIDENT_FIELDS = {
    "id", "page_id", "name", "status", "impact", "impact_override", "created_at", "updated_at",
    "started_at", "monitoring_at", "resolved_at", "shortlink", "components", "incident_updates",
    "metadata", "backfilled", "backfill_date", "postmortem_body",
    "postmortem_body_last_updated_at", "postmortem_ignored", "postmortem_notified_subscribers",
    "postmortem_notified_twitter", "postmortem_published_at", "scheduled_for", "scheduled_until",
    "scheduled_remind_prior", "scheduled_reminded_at", "scheduled_auto_in_progress",
    "scheduled_auto_completed", "scheduled_auto_transition",
    "auto_transition_to_maintenance_state", "auto_transition_to_operational_state",
    "auto_transition_deliver_notifications_at_start",
    "auto_transition_deliver_notifications_at_end", "auto_tweet_at_beginning",
    "auto_tweet_on_completion", "auto_tweet_on_creation", "auto_tweet_one_hour_before",
    "reminder_intervals",
}  # fmt: skip
UPDATE_FIELDS = {
    "id", "incident_id", "status", "body", "created_at", "updated_at", "display_at",
    "affected_components", "deliver_notifications", "custom_tweet", "tweet_id",
    "twitter_updated_at", "wants_twitter_update",
}  # fmt: skip


async def test_realtime_lifecycle(client: httpx.AsyncClient, tenant: Tenant, db: Database) -> None:
    api = await create(client, tenant, "API")
    web = await create(client, tenant, "Web")
    start_revision = await revision(db, tenant.page_id)
    incident = await create_incident(
        client,
        tenant,
        status="investigating",
        body="We are looking into it",
        components={api["id"]: "major_outage"},
        component_ids=[web["id"]],
        metadata={"jira": {"issue_id": "OPS-1"}},
    )
    assert set(incident) == INCIDENT_FIELDS
    assert incident["status"] == "investigating"
    assert incident["impact"] == "critical"
    assert incident["impact_override"] is None
    assert incident["metadata"] == {"jira": {"issue_id": "OPS-1"}}
    assert incident["shortlink"].endswith(f"/incidents/{incident['id']}")
    assert incident["monitoring_at"] is None and incident["resolved_at"] is None
    assert incident["started_at"] == incident["created_at"]
    assert incident["reminder_intervals"] is None
    assert {c["id"]: c["status"] for c in incident["components"]} == {
        api["id"]: "major_outage",
        web["id"]: "operational",
    }
    [first] = incident["incident_updates"]
    assert set(first) == UPDATE_FIELDS
    assert first["body"] == "We are looking into it"
    assert first["deliver_notifications"] is True
    assert first["affected_components"] == [
        {
            "code": api["id"],
            "name": "API",
            "old_status": "operational",
            "new_status": "major_outage",
        }
    ]
    assert await history(db, api["id"]) == [("operational", "major_outage", "incident")]
    assert await history(db, web["id"]) == []
    assert await revision(db, tenant.page_id) == start_revision + 1

    incident_id = incident["id"]
    response = await patch_incident(client, tenant, incident_id, status="identified")
    assert response.status_code == 200, response.text
    response = await patch_incident(
        client,
        tenant,
        incident_id,
        status="monitoring",
        body="Fix deployed",
        components={api["id"]: "degraded_performance"},
    )
    monitoring = response.json()
    assert monitoring["monitoring_at"] is not None
    assert monitoring["impact"] == "critical"  # the peak is kept
    response = await patch_incident(
        client,
        tenant,
        incident_id,
        status="resolved",
        body="All good",
        components={api["id"]: "operational"},
    )
    resolved = response.json()
    assert resolved["status"] == "resolved"
    assert resolved["resolved_at"] is not None
    assert resolved["impact"] == "critical"
    assert [u["status"] for u in resolved["incident_updates"]] == [
        "resolved", "monitoring", "identified", "investigating",
    ]  # fmt: skip
    assert resolved["incident_updates"][0]["affected_components"] == [
        {
            "code": api["id"],
            "name": "API",
            "old_status": "degraded_performance",
            "new_status": "operational",
        }
    ]
    assert resolved["incident_updates"][2]["affected_components"] is None
    assert await history(db, api["id"]) == [
        ("operational", "major_outage", "incident"),
        ("major_outage", "degraded_performance", "incident"),
        ("degraded_performance", "operational", "incident"),
    ]

    again = await client.get(
        f"/v1/pages/{tenant.page_id}/incidents/{incident_id}.json", headers=tenant.auth
    )
    assert again.json() == resolved

    events = await incident_events(db)
    assert len(events) == 4
    assert events[0]["page"]["status_indicator"] == "critical"
    assert events[-1]["page"] == {
        "id": tenant.page_id,
        "status_indicator": "none",
        "status_description": "All Systems Operational",
    }
    assert events[-1]["incident"] == resolved
    assert all(e["deliver"] for e in events)

    deleted = await client.delete(
        f"/v1/pages/{tenant.page_id}/incidents/{incident_id}", headers=tenant.auth
    )
    assert deleted.status_code == 200
    assert deleted.json()["id"] == incident_id
    missing = await client.get(
        f"/v1/pages/{tenant.page_id}/incidents/{incident_id}", headers=tenant.auth
    )
    assert_error(missing, 404)


async def test_patch_without_status_or_body_makes_no_update(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    incident = await create_incident(client, tenant, body="first", deliver_notifications=False)
    assert incident["incident_updates"][0]["deliver_notifications"] is False
    before = await revision(db, tenant.page_id)
    response = await patch_incident(
        client,
        tenant,
        incident["id"],
        name="Renamed",
        impact_override="major",
        metadata={"pd": {"id": 1}},
    )
    body = response.json()
    assert body["name"] == "Renamed"
    assert body["impact"] == "major" and body["impact_override"] == "major"
    assert body["metadata"] == {"pd": {"id": 1}}
    assert len(body["incident_updates"]) == 1
    assert await revision(db, tenant.page_id) == before + 1
    events = await incident_events(db)
    assert [e["deliver"] for e in events] == [False, False]

    response = await patch_incident(client, tenant, incident["id"], body="More detail")
    updates = response.json()["incident_updates"]
    assert [u["body"] for u in updates] == ["More detail", "first"]
    assert updates[0]["status"] == "investigating"
    put = await client.put(
        f"/v1/pages/{tenant.page_id}/incidents/{incident['id']}.json",
        headers=tenant.auth,
        json={"incident": {"status": "identified"}},
    )
    assert put.status_code == 200, put.text
    assert [u["status"] for u in put.json()["incident_updates"]][:1] == ["identified"]
    assert put.json()["name"] == "Renamed"  # PUT is a partial update, as in Statuspage


async def test_impact_rules(client: httpx.AsyncClient, tenant: Tenant) -> None:
    a = await create(client, tenant, "A")
    b = await create(client, tenant, "B")
    minor = await create_incident(client, tenant, components={a["id"]: "degraded_performance"})
    assert minor["impact"] == "minor"
    major = await create_incident(client, tenant, components={b["id"]: "partial_outage"})
    assert major["impact"] == "major"
    none = await create_incident(client, tenant, component_ids=[a["id"]])
    assert none["impact"] == "minor"  # attached: impact follows the components' current status
    maintenance = await create(client, tenant, "C", status="under_maintenance")
    quiet = await create_incident(client, tenant, component_ids=[maintenance["id"]])
    assert quiet["impact"] == "none"
    overridden = await create_incident(client, tenant, impact_override="critical")
    assert overridden["impact"] == "critical"
    response = await patch_incident(
        client, tenant, minor["id"], components={a["id"]: "major_outage"}
    )
    assert response.json()["impact"] == "critical"
    assert len(response.json()["incident_updates"]) == 2  # a component change is an update


async def test_form_encoded_create(client: httpx.AsyncClient, tenant: Tenant) -> None:
    api = await create(client, tenant, "API")
    response = await client.post(
        f"/v1/pages/{tenant.page_id}/incidents.json",
        headers={**tenant.auth, "Content-Type": "application/x-www-form-urlencoded"},
        content=(
            f"incident[name]=Slow&incident[status]=identified&incident[body]=Slow+API"
            f"&incident[components][{api['id']}]=partial_outage"
            f"&incident[component_ids][]={api['id']}&incident[deliver_notifications]=false"
        ),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "identified"
    assert body["impact"] == "major"
    assert body["incident_updates"][0]["deliver_notifications"] is False
    assert [c["status"] for c in body["components"]] == ["partial_outage"]


async def test_bad_input_changes_nothing(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: Callable[..., Any], db: Database
) -> None:
    api = await create(client, tenant, "API")
    other = await make_tenant()
    foreign = await create(client, other, "Theirs")
    incident = await create_incident(client, tenant)
    maintenance = await create_incident(
        client,
        tenant,
        status="scheduled",
        scheduled_for="2030-01-01T10:00:00Z",
        scheduled_until="2030-01-01T12:00:00Z",
    )
    before = (await count_events(db), await revision(db, tenant.page_id))
    url = f"/v1/pages/{tenant.page_id}/incidents"
    cases = [
        ({"name": "x", "status": "broken"}, "incident.status"),
        ({"name": "x", "impact_override": "huge"}, "incident.impact_override"),
        ({"name": "x", "components": {foreign["id"]: "major_outage"}}, "incident.components"),
        ({"name": "x", "component_ids": [foreign["id"]]}, "incident.component_ids"),
        ({"name": "x", "components": {api["id"]: "on_fire"}}, "incident.components"),
        (
            {
                "name": "x",
                "scheduled_for": "2030-01-01T12:00:00Z",
                "scheduled_until": "2030-01-01T10:00:00Z",
            },
            "incident.scheduled_until",
        ),
        (
            {
                "name": "x",
                "status": "investigating",
                "scheduled_for": "2030-01-01T10:00:00Z",
                "scheduled_until": "2030-01-01T12:00:00Z",
            },
            "incident.status",
        ),
        ({"name": "x", "body": "x" * (64 * 1024 + 1)}, "incident.body"),
        ({"name": "x", "metadata": {"jira": "flat"}}, "incident.metadata"),
        ({"name": "x", "reminder_intervals": "[5, 3]"}, "incident.reminder_intervals"),
        ({"status": "investigating"}, "incident.name"),
    ]
    for fields, field in cases:
        response = await client.post(url, headers=tenant.auth, json={"incident": fields})
        assert field in assert_error(response, 422)["message"], (fields, response.text)
    patches: list[tuple[str, dict[str, Any], str]] = [
        (incident["id"], {"status": "in_progress"}, "incident.status"),
        (maintenance["id"], {"status": "resolved"}, "incident.status"),
        (
            maintenance["id"],
            {"scheduled_until": "2029-12-31T00:00:00Z"},
            "incident.scheduled_until",
        ),
        (incident["id"], {"components": {foreign["id"]: "major_outage"}}, "incident.components"),
    ]
    for incident_id, patch, field in patches:
        response = await patch_incident(client, tenant, incident_id, **patch)
        assert field in assert_error(response, 422)["message"], (patch, response.text)
    assert (await count_events(db), await revision(db, tenant.page_id)) == before
    listed = await client.get(url, headers=tenant.auth)
    assert len(listed.json()) == 2


async def test_backfilled_incident(client: httpx.AsyncClient, tenant: Tenant, db: Database) -> None:
    api = await create(client, tenant, "API")
    incident = await create_incident(
        client,
        tenant,
        backfilled=True,
        backfill_date="2026-03-04",
        body="It happened",
        component_ids=[api["id"]],
    )
    assert incident["backfilled"] is True
    assert incident["status"] == "resolved"
    assert incident["started_at"] == "2026-03-04T00:00:00.000Z"
    assert incident["resolved_at"] == "2026-03-04T00:00:00.000Z"
    assert incident["incident_updates"][0]["deliver_notifications"] is False
    assert [c["status"] for c in incident["components"]] == ["operational"]
    [event] = await incident_events(db)
    assert event["deliver"] is False
    response = await client.post(
        f"/v1/pages/{tenant.page_id}/incidents",
        headers=tenant.auth,
        json={
            "incident": {"name": "x", "backfilled": True, "components": {api["id"]: "major_outage"}}
        },
    )
    assert "incident.components" in assert_error(response, 422)["message"]
    assert await history(db, api["id"]) == []


async def test_edit_incident_update(client: httpx.AsyncClient, tenant: Tenant) -> None:
    incident = await create_incident(client, tenant, body="Tpyo")
    update_id = incident["incident_updates"][0]["id"]
    url = f"/v1/pages/{tenant.page_id}/incidents/{incident['id']}/incident_updates/{update_id}"
    for method in ("PATCH", "PUT"):
        response = await client.request(
            method,
            url,
            headers=tenant.auth,
            json={
                "incident_update": {
                    "body": f"Typo fixed by {method}",
                    "display_at": "2026-01-01T00:00:00Z",
                }
            },
        )
        assert response.status_code == 200, response.text
        assert response.json()["body"] == f"Typo fixed by {method}"
        assert response.json()["display_at"] == "2026-01-01T00:00:00.000Z"
    missing = await client.patch(
        url.replace(update_id, "zzzzzzzzzzzz"), headers=tenant.auth, json={"incident_update": {}}
    )
    assert_error(missing, 404)
    got = await client.get(
        f"/v1/pages/{tenant.page_id}/incidents/{incident['id']}", headers=tenant.auth
    )
    assert got.json()["incident_updates"][0]["body"] == "Typo fixed by PUT"


async def test_incident_of_another_page_is_not_found(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: Callable[..., Any]
) -> None:
    incident = await create_incident(client, tenant)
    other = await make_tenant()
    response = await client.get(
        f"/v1/pages/{other.page_id}/incidents/{incident['id']}", headers=other.auth
    )
    assert_error(response, 404)
