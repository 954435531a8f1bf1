"""Incident lists: the search behind GET /incidents and the four sub-lists."""

from __future__ import annotations

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import Pagination
from app.models import Incident, IncidentUpdate, Page
from app.models.incident import MAINTENANCE_STATUSES


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def search(
    session: AsyncSession, page: Page, q: str | None, limit: int, page_number: int
) -> list[Incident]:
    """Newest first; `q` matches name, status, postmortem body and the updates' bodies."""
    query = select(Incident).where(Incident.page_id == page.id)
    if q:
        pattern = f"%{_escape_like(q)}%"
        in_updates = exists().where(
            IncidentUpdate.incident_id == Incident.id, IncidentUpdate.body.ilike(pattern)
        )
        query = query.where(
            or_(
                Incident.name.ilike(pattern),
                Incident.status.ilike(pattern),
                Incident.postmortem_body.ilike(pattern),
                in_updates,
            )
        )
    query = (
        query.order_by(Incident.created_at.desc(), Incident.id)
        .offset((page_number - 1) * limit)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


LIST_VIEWS = ("unresolved", "upcoming", "scheduled", "active_maintenance")


async def list_view(
    session: AsyncSession, page: Page, which: str, pagination: Pagination
) -> list[Incident]:
    """unresolved: realtime incidents not resolved; scheduled: every maintenance; upcoming:
    maintenances not started; active_maintenance: maintenances in progress or verifying."""
    query = select(Incident).where(Incident.page_id == page.id)
    if which == "unresolved":
        query = query.where(
            Incident.is_maintenance.is_(False), Incident.status != "resolved"
        ).order_by(Incident.created_at.desc(), Incident.id)
    else:
        statuses = {
            "upcoming": ("scheduled",),
            "active_maintenance": ("in_progress", "verifying"),
            "scheduled": MAINTENANCE_STATUSES,
        }[which]
        query = query.where(
            Incident.is_maintenance.is_(True), Incident.status.in_(statuses)
        ).order_by(Incident.scheduled_for, Incident.id)
    query = query.offset(pagination.offset).limit(pagination.per_page)
    return list((await session.scalars(query)).all())
