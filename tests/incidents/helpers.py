"""Shared helpers for the incident tests."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from app.core.db import Database
from app.models import ComponentStatusChange, OutboxEvent, Page
from tests.conftest import Tenant


async def create_incident(
    client: httpx.AsyncClient, tenant: Tenant, name: str = "Database down", **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/v1/pages/{tenant.page_id}/incidents",
        headers=tenant.auth,
        json={"incident": {"name": name, **fields}},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def patch_incident(
    client: httpx.AsyncClient, tenant: Tenant, incident_id: str, **fields: Any
) -> httpx.Response:
    return await client.patch(
        f"/v1/pages/{tenant.page_id}/incidents/{incident_id}",
        headers=tenant.auth,
        json={"incident": fields},
    )


async def incident_events(db: Database) -> list[dict[str, Any]]:
    async with db.sessionmaker() as session:
        rows = await session.scalars(
            select(OutboxEvent.payload)
            .where(OutboxEvent.kind.like("incident.%"))
            .order_by(OutboxEvent.id)
        )
        return list(rows.all())


async def history(db: Database, component_id: str) -> list[tuple[str | None, str, str]]:
    async with db.sessionmaker() as session:
        rows = await session.execute(
            select(
                ComponentStatusChange.old_status,
                ComponentStatusChange.new_status,
                ComponentStatusChange.source,
            )
            .where(
                ComponentStatusChange.component_id == component_id,
                ComponentStatusChange.old_status.is_not(None),
            )
            .order_by(ComponentStatusChange.at)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def revision(db: Database, page_id: str) -> int:
    async with db.sessionmaker() as session:
        value = await session.scalar(select(Page.revision).where(Page.id == page_id))
    return int(value or 0)


async def count_events(db: Database) -> int:
    async with db.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(OutboxEvent)) or 0)
