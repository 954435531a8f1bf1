"""A webhook URL that passed the check when the subscription was made is checked again when a
notification goes out: resolving to a private address then (DNS rebinding) sends nothing."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from app.core.config import Settings
from app.core.db import Database
from app.models import Delivery
from app.notifications.channels.base import Outbound
from app.notifications.delivery import Deliverer
from tests.conftest import Tenant
from tests.incidents.helpers import create_incident
from tests.notifications.conftest import Clock, Receiver, add_subscriber, relay_and_drain


async def test_delivery_refuses_a_target_that_now_resolves_privately(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    receiver: Receiver,
    clock: Clock,
) -> None:
    """The subscription's URL passed the check when it was made; what it resolves to at delivery
    time is checked again (a DNS rebinding to 127.0.0.1 here): nothing is sent."""
    settings = Settings(environment="test", log_json=False, outbound_allow_private=False)
    deliverer = Deliverer(settings, db, Outbound(settings))
    try:
        hook = await add_subscriber(
            db, tenant.page_id, "webhook", endpoint=receiver.url("/hook"), email="ops@example.com"
        )
        await create_incident(client, tenant, name="Rebinding")
        await relay_and_drain(deliverer, clock)
    finally:
        await deliverer.outbound.close()
    assert receiver.requests == []
    async with db.sessionmaker() as session:
        deliveries = list(
            await session.scalars(select(Delivery).where(Delivery.subscriber_id == hook.id))
        )
    assert deliveries, "the event was fanned out to the webhook"
    assert all(d.state != "delivered" for d in deliveries)
    assert all(d.last_error for d in deliveries)
