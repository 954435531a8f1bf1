"""Who hears what: component scopes (a group stands for its members), incident subscribers,
component events for webhooks only, SMS only on creation/resolution/maintenance start, nothing
for `deliver_notifications: false` or a backfilled incident, nothing from a rolled-back write."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import func, select
from starlette.responses import Response

from app.core.context import UnitOfWork
from app.core.db import Database
from app.core.notifier import Notifier
from app.core.queue import Queue
from app.models import Delivery
from app.notifications.delivery import Deliverer
from app.notifications.fanout import sms_worthy
from app.notifications.outbox import emit
from tests.conftest import Servers, Tenant
from tests.incidents.helpers import create_incident, patch_incident
from tests.notifications.conftest import (
    Clock,
    Receiver,
    Smtp,
    add_subscriber,
    form_of,
    relay_and_drain,
)


async def _component(client: httpx.AsyncClient, tenant: Tenant, name: str) -> str:
    response = await client.post(
        f"/v1/pages/{tenant.page_id}/components",
        headers=tenant.auth,
        json={"component": {"name": name}},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _group(client: httpx.AsyncClient, tenant: Tenant, members: list[str]) -> str:
    response = await client.post(
        f"/v1/pages/{tenant.page_id}/component-groups",
        headers=tenant.auth,
        json={"component_group": {"name": "Group", "components": members}},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _kinds(receiver: Receiver, path: str) -> list[str]:
    return [r.headers["x-statuspage-event"] for r in receiver.at(path)]


async def test_component_scopes_and_incident_subscribers(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    receiver: Receiver,
    smtp: Smtp,
    deliverer: Deliverer,
    clock: Clock,
) -> None:
    page = tenant.page_id
    api, web, other = [await _component(client, tenant, n) for n in ("API", "Web", "Other")]
    group = await _group(client, tenant, [api, web])
    hook = receiver.url

    await add_subscriber(db, page, "webhook", endpoint=hook("/all"))
    await add_subscriber(db, page, "webhook", endpoint=hook("/api"), component_ids=[api])
    await add_subscriber(db, page, "webhook", endpoint=hook("/group"), component_ids=[group])
    await add_subscriber(db, page, "webhook", endpoint=hook("/other"), component_ids=[other])
    await add_subscriber(db, page, "webhook", endpoint=hook("/gone"), state="unsubscribed")
    await add_subscriber(db, page, "webhook", endpoint=hook("/waiting"), state="unconfirmed")
    await add_subscriber(db, page, "email", email="api@example.com", component_ids=[api])
    await add_subscriber(db, page, "email", email="other@example.com", component_ids=[other])

    incident = await create_incident(client, tenant, components={api: "major_outage"})
    # Subscribers of this incident, and of another one.
    await add_subscriber(db, page, "webhook", endpoint=hook("/this"), incident_id=incident["id"])
    elsewhere = await create_incident(client, tenant, name="Elsewhere", deliver_notifications=False)
    await add_subscriber(db, page, "webhook", endpoint=hook("/that"), incident_id=elsewhere["id"])
    await relay_and_drain(deliverer, clock)

    # The incident (and its component event, for webhooks in scope).
    assert _kinds(receiver, "/all") == ["component.update", "incident.update"]
    assert _kinds(receiver, "/api") == ["component.update", "incident.update"]
    assert _kinds(receiver, "/group") == ["component.update", "incident.update"]
    for path in ("/other", "/gone", "/waiting", "/this", "/that"):
        assert receiver.at(path) == [], path
    assert len(smtp.to("api@example.com")) == 1
    assert smtp.to("other@example.com") == []

    # An update reaches the incident's own subscribers too; a component change of `other`
    # reaches only webhooks scoped to it (and unscoped ones), never email.
    receiver.requests.clear()
    response = await patch_incident(client, tenant, incident["id"], body="Still on it")
    assert response.status_code == 200
    await client.patch(
        f"/v1/pages/{page}/components/{other}",
        headers=tenant.auth,
        json={"component": {"status": "degraded_performance"}},
    )
    await relay_and_drain(deliverer, clock)
    assert _kinds(receiver, "/this") == ["incident.update"]
    assert _kinds(receiver, "/other") == ["component.update"]
    assert sorted(_kinds(receiver, "/all")) == ["component.update", "incident.update"]
    component_event = json.loads(receiver.at("/other")[0].body)
    assert list(component_event) == ["meta", "page", "component_update", "component"]
    assert component_event["component_update"]["new_status"] == "degraded_performance"
    assert receiver.at("/that") == []
    assert len(smtp.to("other@example.com")) == 0


async def test_no_delivery_when_deliver_is_false_or_backfilled(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    receiver: Receiver,
    smtp: Smtp,
    deliverer: Deliverer,
    clock: Clock,
) -> None:
    await add_subscriber(db, tenant.page_id, "webhook", endpoint=receiver.url("/hook"))
    await add_subscriber(db, tenant.page_id, "email", email="reader@example.com")
    quiet = await create_incident(client, tenant, deliver_notifications=False)
    await create_incident(client, tenant, name="Old", backfilled=True, backfill_date="2020-01-01")
    response = await patch_incident(
        client, tenant, quiet["id"], body="Quiet update", deliver_notifications=False
    )
    assert response.status_code == 200
    await relay_and_drain(deliverer, clock)
    assert receiver.requests == []
    assert smtp.messages == []
    async with db.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Delivery)) == 0


async def test_sms_only_on_creation_resolution_and_maintenance_start(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    twilio: Receiver,
    smtp: Smtp,
    deliverer: Deliverer,
    clock: Clock,
) -> None:
    await add_subscriber(
        db, tenant.page_id, "sms", phone_number="2025550105", phone_country="US",
        display_phone_number="+1 (202) 555-0105",
    )  # fmt: skip
    await add_subscriber(db, tenant.page_id, "email", email="reader@example.com")

    async def step(change: dict[str, Any] | None, incident_id: str | None = None) -> str:
        if incident_id is None:
            made = await create_incident(client, tenant, **(change or {}))
            incident_id = str(made["id"])
        else:
            response = await patch_incident(client, tenant, incident_id, **(change or {}))
            assert response.status_code == 200, response.text
        await relay_and_drain(deliverer, clock)
        return incident_id

    incident = await step({"name": "Outage", "status": "investigating"})
    await step({"status": "identified", "body": "Found it"}, incident)
    await step({"status": "monitoring", "body": "Fixed"}, incident)
    await step({"status": "resolved", "body": "All good"}, incident)
    window = {"scheduled_for": "2030-01-01T10:00:00Z", "scheduled_until": "2030-01-01T12:00:00Z"}
    maintenance = await step({"name": "Upgrade", "status": "scheduled", **window})
    await step({"body": "Reminder of the plan"}, maintenance)
    await step({"status": "in_progress", "body": "Started"}, maintenance)
    await step({"status": "verifying", "body": "Checking"}, maintenance)
    await step({"status": "completed", "body": "Done"}, maintenance)

    bodies = [form_of(r)["Body"] for r in twilio.requests]
    assert len(bodies) == 5, bodies
    assert "New incident: Outage" in bodies[0]
    assert "Resolved: Outage" in bodies[1]
    assert "Scheduled maintenance: Upgrade" in bodies[2]
    assert "Maintenance in progress: Upgrade" in bodies[3]
    assert "Maintenance completed: Upgrade" in bodies[4]
    # Email hears every update.
    subjects = [m["Subject"] for m in smtp.to("reader@example.com")]
    assert len(subjects) == 9
    assert subjects[1] == "[Status] Incident update: Outage"
    assert subjects[7] == "[Status] Maintenance update: Upgrade"


def test_sms_worthy_reads_the_updates_newest_first() -> None:
    def incident(*statuses: str, **extra: Any) -> dict[str, Any]:
        return {"incident_updates": [{"status": s} for s in statuses], **extra}

    assert sms_worthy(incident("investigating"))
    assert not sms_worthy(incident("identified", "investigating"))
    assert sms_worthy(incident("resolved", "identified", "investigating"))
    assert not sms_worthy(incident("resolved", "resolved", "investigating"))  # a second word
    assert sms_worthy(incident("in_progress", "scheduled", scheduled_for="2030-01-01T00:00:00Z"))
    assert not sms_worthy(
        incident("in_progress", "in_progress", "scheduled", scheduled_for="2030-01-01T00:00:00Z")
    )


async def test_rolled_back_transaction_sends_nothing(
    servers: Servers,
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    receiver: Receiver,
    deliverer: Deliverer,
    clock: Clock,
) -> None:
    await add_subscriber(db, tenant.page_id, "webhook", endpoint=receiver.url("/hook"))
    incident = await create_incident(client, tenant, deliver_notifications=False)
    queue = Queue.from_url(servers.redis_url)
    try:
        work = UnitOfWork()
        async with db.sessionmaker() as session, session.begin():
            payload = {
                "page": {
                    "id": tenant.page_id,
                    "status_indicator": "none",
                    "status_description": "",
                },
                "incident": incident,
                "deliver": True,
            }
            await emit(
                session, work, Notifier(queue), kind="incident.update", payload=payload,
                page_id=tenant.page_id,
            )  # fmt: skip
            await session.rollback()
        await work.finish(Response(status_code=500))
    finally:
        await queue.close()
    await relay_and_drain(deliverer, clock)
    assert receiver.requests == []
