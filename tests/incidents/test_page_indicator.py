"""One indicator for the whole page: a component webhook raised by an unresolved incident."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from app.core.db import Database
from app.models import OutboxEvent
from tests.components.test_components import create, patch
from tests.conftest import Tenant
from tests.incidents.helpers import create_incident


async def component_event_page(db: Database) -> dict[str, str]:
    async with db.sessionmaker() as session:
        event = await session.scalar(
            select(OutboxEvent)
            .where(OutboxEvent.kind == "component.update")
            .order_by(OutboxEvent.id.desc())
            .limit(1)
        )
    assert event is not None
    page: dict[str, str] = event.payload["page"]
    return page


async def test_unresolved_incident_raises_the_component_event_indicator(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    a = await create(client, tenant, "A")
    b = await create(client, tenant, "B")
    await patch(client, tenant, b["id"], status="degraded_performance")
    assert (await component_event_page(db))["status_indicator"] == "minor"

    await create_incident(
        client, tenant, status="investigating", body="Looking", impact_override="critical"
    )
    await patch(client, tenant, a["id"], status="degraded_performance")
    # Both components degraded alone would be "minor"; the critical incident raises it.
    assert (await component_event_page(db))["status_indicator"] == "critical"
    assert (await component_event_page(db))["status_description"] == "Major System Outage"
