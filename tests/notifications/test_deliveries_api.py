"""The delivery log and redelivery (extensions), and the notices about a subscription."""

from __future__ import annotations

import httpx
from sqlalchemy import insert

from app.core.db import Database
from app.models import OutboxEvent, Subscriber
from app.notifications.delivery import Deliverer, drain
from tests.conftest import Tenant
from tests.incidents.helpers import create_incident
from tests.notifications.conftest import (
    BASE_URL,
    Clock,
    Receiver,
    Smtp,
    add_subscriber,
    form_of,
    relay_and_drain,
)


async def test_delivery_log_and_redelivery(
    client: httpx.AsyncClient,
    make_tenant: object,
    tenant: Tenant,
    db: Database,
    receiver: Receiver,
    deliverer: Deliverer,
    clock: Clock,
) -> None:
    hook = await add_subscriber(db, tenant.page_id, "webhook", endpoint=receiver.url("/hook"))
    receiver.answer("/hook", 500)
    await create_incident(client, tenant)
    await relay_and_drain(deliverer, clock)
    clock.advance(minutes=1)
    await drain(deliverer, clock=clock)

    url = f"/v1/pages/{tenant.page_id}/subscribers/{hook.id}/deliveries"
    response = await client.get(url, headers=tenant.auth)
    assert response.status_code == 200, response.text
    [logged] = response.json()
    assert logged["event_kind"] == "incident.update"
    assert (logged["state"], logged["attempts"], logged["channel"]) == ("delivered", 2, "webhook")
    assert [a["status_code"] for a in logged["attempt_log"]] == [500, 200]
    assert logged["attempt_log"][0]["error"] == "HTTP 500"
    assert all(a["latency_ms"] >= 0 for a in logged["attempt_log"])
    assert (await client.get(f"{url}.json?per_page=1&page=2", headers=tenant.auth)).json() == []

    redeliver = f"{url}/{logged['id']}/redeliver"
    response = await client.post(redeliver, headers=tenant.auth)
    assert response.status_code == 202, response.text
    assert (response.json()["state"], response.json()["attempts"]) == ("pending", 0)
    await drain(deliverer, clock=clock)
    hits = receiver.at("/hook")
    assert len(hits) == 3
    assert hits[-1].headers["webhook-id"] == hits[0].headers["webhook-id"]  # the same message
    [logged] = (await client.get(url, headers=tenant.auth)).json()
    assert (logged["state"], len(logged["attempt_log"])) == ("delivered", 3)

    # Not found: another page's subscriber, an unknown delivery; a subscriber who left: 409.
    other = await make_tenant()  # type: ignore[operator]
    foreign = f"/v1/pages/{other.page_id}/subscribers/{hook.id}/deliveries"
    assert (await client.get(foreign, headers=other.auth)).status_code == 404
    assert (await client.post(f"{url}/999999/redeliver", headers=tenant.auth)).status_code == 404
    assert (await client.post(f"{url}/abc/redeliver", headers=tenant.auth)).status_code == 404
    async with db.sessionmaker() as session, session.begin():
        row = await session.get(Subscriber, hook.id)
        assert row is not None
        row.state = "unsubscribed"
    assert (await client.post(redeliver, headers=tenant.auth)).status_code == 409


async def test_subscription_notices(
    tenant: Tenant,
    db: Database,
    smtp: Smtp,
    twilio: Receiver,
    deliverer: Deliverer,
    clock: Clock,
) -> None:
    """The subscribers API asks for these through the outbox; they go whatever the state."""
    pending = await add_subscriber(
        db, tenant.page_id, "email", email="new@example.com", state="unconfirmed"
    )
    phone = await add_subscriber(
        db, tenant.page_id, "sms", state="unconfirmed", phone_number="2025550105",
        phone_country="US", display_phone_number="+1 (202) 555-0105",
    )  # fmt: skip
    gone = await add_subscriber(
        db, tenant.page_id, "email", email="gone@example.com", state="unsubscribed"
    )
    events = [
        ("subscriber.confirmation", pending.id),
        ("subscriber.confirmation", phone.id),
        ("subscriber.unsubscribed", gone.id),
    ]
    async with db.sessionmaker() as session, session.begin():
        await session.execute(
            insert(OutboxEvent),
            [
                {
                    "kind": kind,
                    "payload": {"subscriber_id": sid},
                    "page_id": tenant.page_id,
                    "attempts": 0,
                }
                for kind, sid in events
            ],
        )
    await relay_and_drain(deliverer, clock)

    [confirm] = smtp.to("new@example.com")
    link = f"{BASE_URL}/subscriptions/confirm/{pending.confirm_token}"
    assert confirm["Subject"] == "[Status] Confirm your subscription"
    assert link in confirm.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f'href="{link}"' in confirm.get_body(("html",)).get_content()  # type: ignore[union-attr]
    [sms] = twilio.requests
    assert f"{BASE_URL}/subscriptions/confirm/{phone.confirm_token}" in form_of(sms)["Body"]
    [goodbye] = smtp.to("gone@example.com")
    assert goodbye["Subject"] == "[Status] You have been unsubscribed"
    assert goodbye["List-Unsubscribe"] is None
