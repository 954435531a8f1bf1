"""Shared helpers for the subscriber tests."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select, update

from app.core.db import Database
from app.core.timefmt import utcnow
from app.models import OutboxEvent, Subscriber
from tests.conftest import Tenant

SUBSCRIBER_FIELDS = {
    "id", "skip_confirmation_notification", "mode", "email", "endpoint", "phone_number",
    "phone_country", "display_phone_number", "obfuscated_channel_name", "workspace_name",
    "quarantined_at", "purge_at", "components", "page_access_user_id", "created_at", "state",
}  # fmt: skip
# Literal public addresses: no DNS needed, and they pass the outbound target check.
PUBLIC_HOOK = "https://1.1.1.1/hooks/status"


def base(tenant: Tenant) -> str:
    return f"/v1/pages/{tenant.page_id}/subscribers"


async def subscribe(
    client: httpx.AsyncClient, tenant: Tenant, expect: int = 201, **fields: Any
) -> dict[str, Any]:
    response = await client.post(base(tenant), headers=tenant.auth, json={"subscriber": fields})
    assert response.status_code == expect, response.text
    body: dict[str, Any] = response.json()
    return body


async def events(db: Database, kind: str | None = None) -> list[tuple[str, str | None, str]]:
    """(kind, page_id, subscriber_id) of the subscriber.* outbox rows, oldest first."""
    async with db.sessionmaker() as session:
        query = select(OutboxEvent).where(OutboxEvent.kind.like("subscriber.%"))
        if kind is not None:
            query = query.where(OutboxEvent.kind == kind)
        rows = await session.scalars(query.order_by(OutboxEvent.id))
        return [(r.kind, r.page_id, r.payload["subscriber_id"]) for r in rows]


async def row(db: Database, subscriber_id: str) -> Subscriber:
    async with db.sessionmaker() as session:
        found = await session.get(Subscriber, subscriber_id)
        assert found is not None
        return found


async def quarantine(db: Database, *subscriber_ids: str) -> None:
    now = utcnow()
    async with db.sessionmaker() as session, session.begin():
        await session.execute(
            update(Subscriber)
            .where(Subscriber.id.in_(subscriber_ids))
            .values(state="quarantined", quarantined_at=now, purge_at=now, failure_count=10)
        )


async def set_page(client: httpx.AsyncClient, tenant: Tenant, **fields: Any) -> None:
    response = await client.patch(
        f"/v1/pages/{tenant.page_id}", headers=tenant.auth, json={"page": fields}
    )
    assert response.status_code == 200, response.text
