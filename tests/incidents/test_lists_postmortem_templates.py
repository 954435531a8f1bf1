"""The incident lists (q, limit/page, the four sub-lists), postmortems and incident templates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from app.core.db import Database
from tests.api.test_auth import assert_error
from tests.components.test_components import create
from tests.conftest import Tenant
from tests.incidents.helpers import create_incident, incident_events, patch_incident


async def ids(client: httpx.AsyncClient, tenant: Tenant, path: str, **params: Any) -> list[str]:
    response = await client.get(
        f"/v1/pages/{tenant.page_id}{path}", headers=tenant.auth, params=params
    )
    assert response.status_code == 200, response.text
    return [i["id"] for i in response.json()]


async def test_lists_search_and_paging(client: httpx.AsyncClient, tenant: Tenant) -> None:
    made = [await create_incident(client, tenant, f"Incident {n}") for n in range(5)]
    newest_first = [i["id"] for i in reversed(made)]
    await patch_incident(client, tenant, made[0]["id"], status="resolved", body="Root cause: DNS")
    upcoming = await create_incident(
        client,
        tenant,
        "Planned work",
        scheduled_for="2030-01-01T10:00:00Z",
        scheduled_until="2030-01-01T11:00:00Z",
    )
    active = await create_incident(
        client,
        tenant,
        "Ongoing work",
        status="in_progress",
        scheduled_for="2029-01-01T10:00:00Z",
        scheduled_until="2031-01-01T11:00:00Z",
    )

    assert await ids(client, tenant, "/incidents") == [active["id"], upcoming["id"], *newest_first]
    assert await ids(client, tenant, "/incidents.json", limit=2) == [active["id"], upcoming["id"]]
    assert await ids(client, tenant, "/incidents", limit=2, page=2) == newest_first[:2]
    assert await ids(client, tenant, "/incidents", limit=5, page=3) == []
    assert len(await ids(client, tenant, "/incidents", limit=1000)) == 7  # capped at 100
    assert await ids(client, tenant, "/incidents", q="dns") == [made[0]["id"]]
    assert await ids(client, tenant, "/incidents", q="Incident 3") == [made[3]["id"]]
    assert await ids(client, tenant, "/incidents", q="resolved") == [made[0]["id"]]
    assert await ids(client, tenant, "/incidents", q="100%") == []

    assert await ids(client, tenant, "/incidents/unresolved") == newest_first[:-1]
    assert (
        await ids(client, tenant, "/incidents/unresolved", per_page=2, page=2) == newest_first[2:4]
    )
    assert await ids(client, tenant, "/incidents/upcoming") == [upcoming["id"]]
    assert await ids(client, tenant, "/incidents/active_maintenance.json") == [active["id"]]
    assert await ids(client, tenant, "/incidents/scheduled") == [active["id"], upcoming["id"]]
    assert await ids(client, tenant, "/incidents/scheduled", per_page=1, page=2) == [upcoming["id"]]


async def test_maintenance_lifecycle_by_hand(client: httpx.AsyncClient, tenant: Tenant) -> None:
    api = await create(client, tenant, "API")
    maintenance = await create_incident(
        client,
        tenant,
        status="scheduled",
        body="Planned",
        scheduled_for="2030-01-01T10:00:00Z",
        scheduled_until="2030-01-01T11:00:00Z",
        scheduled_auto_transition=True,
        component_ids=[api["id"]],
    )
    assert maintenance["scheduled_auto_in_progress"] is True
    assert maintenance["scheduled_auto_transition"] is True
    response = await patch_incident(
        client,
        tenant,
        maintenance["id"],
        status="in_progress",
        components={api["id"]: "under_maintenance"},
    )
    assert response.json()["impact"] == "maintenance"
    response = await patch_incident(client, tenant, maintenance["id"], status="verifying")
    assert response.json()["status"] == "verifying"
    response = await patch_incident(
        client, tenant, maintenance["id"], status="completed", components={api["id"]: "operational"}
    )
    done = response.json()
    assert done["resolved_at"] is not None
    assert [u["status"] for u in done["incident_updates"]] == [
        "completed", "verifying", "in_progress", "scheduled",
    ]  # fmt: skip
    assert [c["status"] for c in done["components"]] == ["operational"]


async def test_postmortem_draft_publish_revert(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    incident = await create_incident(client, tenant, status="resolved")
    url = f"/v1/pages/{tenant.page_id}/incidents/{incident['id']}/postmortem"
    assert_error(await client.get(url, headers=tenant.auth), 404)
    response = await client.put(
        url, headers=tenant.auth, json={"postmortem": {"body_draft": "What happened"}}
    )
    assert response.status_code == 200, response.text
    draft = response.json()
    assert set(draft) == {
        "preview_key", "body", "body_updated_at", "body_draft", "body_draft_updated_at",
        "published_at", "notify_subscribers", "notify_twitter", "custom_tweet", "created_at",
        "updated_at",
    }  # fmt: skip
    assert draft["body_draft"] == "What happened" and draft["published_at"] is None

    response = await client.put(
        f"{url}/publish",
        headers=tenant.auth,
        json={"postmortem": {"notify_subscribers": True, "notify_twitter": False}},
    )
    published = response.json()
    assert published["body"] == "What happened"
    assert published["published_at"] is not None
    assert published["notify_subscribers"] is True
    got = await client.get(
        f"/v1/pages/{tenant.page_id}/incidents/{incident['id']}", headers=tenant.auth
    )
    assert got.json()["postmortem_body"] == "What happened"
    assert got.json()["postmortem_published_at"] == published["published_at"]
    assert got.json()["postmortem_notified_subscribers"] is True
    events = await incident_events(db)
    assert events[-1]["deliver"] is True
    assert events[-1]["incident"]["postmortem_body"] == "What happened"

    response = await client.put(f"{url}/revert", headers=tenant.auth)
    reverted = response.json()
    assert reverted["published_at"] is None and reverted["body"] is None
    assert reverted["body_draft"] == "What happened"
    got = await client.get(
        f"/v1/pages/{tenant.page_id}/incidents/{incident['id']}", headers=tenant.auth
    )
    assert got.json()["postmortem_published_at"] is None

    deleted = await client.delete(url, headers=tenant.auth)
    assert deleted.status_code == 204
    assert_error(await client.get(url, headers=tenant.auth), 404)
    too_big = await client.put(
        url, headers=tenant.auth, json={"postmortem": {"body_draft": "x" * 70_000}}
    )
    assert "postmortem.body_draft" in assert_error(too_big, 422)["message"]


async def test_templates_and_template_id(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: Callable[..., Any]
) -> None:
    api = await create(client, tenant, "API")
    url = f"/v1/pages/{tenant.page_id}/incident_templates"
    response = await client.post(
        url,
        headers=tenant.auth,
        json={
            "template": {
                "name": "API down",
                "title": "The API is down",
                "body": "We are investigating API errors",
                "update_status": "identified",
                "should_send_notifications": False,
                "component_ids": [api["id"]],
            }
        },
    )
    assert response.status_code == 201, response.text
    template = response.json()
    assert set(template) == {
        "id", "components", "name", "title", "body", "group_id", "update_status",
        "should_tweet", "should_send_notifications",
    }  # fmt: skip
    assert [c["id"] for c in template["components"]] == [api["id"]]
    assert template["should_tweet"] is False

    listed = await client.get(url, headers=tenant.auth)
    assert [t["id"] for t in listed.json()] == [template["id"]]
    one = await client.get(f"{url}/{template['id']}", headers=tenant.auth)
    assert one.json() == template
    patched = await client.patch(
        f"{url}/{template['id']}", headers=tenant.auth, json={"template": {"name": "API outage"}}
    )
    assert patched.json()["name"] == "API outage"
    assert patched.json()["body"] == template["body"]

    incident = await create_incident(client, tenant, template_id=template["id"], name="Custom")
    assert incident["name"] == "Custom"
    assert incident["status"] == "identified"
    assert incident["incident_updates"][0]["body"] == "We are investigating API errors"
    assert incident["incident_updates"][0]["deliver_notifications"] is False
    assert [c["id"] for c in incident["components"]] == [api["id"]]
    titled = await create_incident(client, tenant, template_id=template["id"], name="x")
    assert titled["name"] == "x"
    response = await client.post(
        f"/v1/pages/{tenant.page_id}/incidents",
        headers=tenant.auth,
        json={"incident": {"template_id": template["id"]}},
    )
    assert response.json()["name"] == "The API is down"

    other = await make_tenant()
    foreign = await create(client, other, "Theirs")
    for fields in (
        {"name": "x", "title": "x", "body": "x", "component_ids": [foreign["id"]]},
        {"name": "x", "title": "x", "body": "x", "component_ids": ["nosuchcompnt"]},
    ):
        bad = await client.post(url, headers=tenant.auth, json={"template": fields})
        assert "template.component_ids" in assert_error(bad, 422)["message"]
    missing = await client.post(url, headers=tenant.auth, json={"template": {"name": "x"}})
    assert_error(missing, 422)
    bad_id = await client.post(
        f"/v1/pages/{tenant.page_id}/incidents",
        headers=tenant.auth,
        json={"incident": {"template_id": "zzzzzzzzzzzz"}},
    )
    assert "incident.template_id" in assert_error(bad_id, 422)["message"]

    deleted = await client.delete(f"{url}/{template['id']}", headers=tenant.auth)
    assert deleted.status_code == 200
    assert deleted.json()["id"] == template["id"]
    assert_error(await client.get(f"{url}/{template['id']}", headers=tenant.auth), 404)
