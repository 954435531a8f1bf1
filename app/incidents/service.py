"""Incident rules: statuses, updates, the component cascade, impact, and the outbox event and page
revision that every change writes, all in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.components.rollup import IMPACT_ORDER, SEVERITY
from app.components.service import PageStatuses, set_status
from app.core.context import Writer
from app.core.errors import NotFound, Unprocessable
from app.core.timefmt import utcnow
from app.incidents import schemas
from app.incidents.views import incident_view, payload_of, update_out
from app.models import (
    Component,
    Incident,
    IncidentComponent,
    IncidentTemplate,
    IncidentUpdate,
    Page,
)
from app.models.incident import MAINTENANCE_STATUSES, REALTIME_STATUSES
from app.notifications import outbox
from app.pages.service import bump_revision

INCIDENT_UPDATE_EVENT = "incident.update"
INCIDENT_REMINDER_EVENT = "incident.reminder"
NOT_FOUND = "The requested resource could not be found."

_IMPACT_OF_STATUS = {
    "major_outage": "critical",
    "partial_outage": "major",
    "degraded_performance": "minor",
}
# Flags copied from the request to the row as they are.
_FLAGS = (
    "scheduled_remind_prior",
    "scheduled_auto_in_progress",
    "scheduled_auto_completed",
    "auto_transition_to_maintenance_state",
    "auto_transition_to_operational_state",
    "auto_transition_deliver_notifications_at_start",
    "auto_transition_deliver_notifications_at_end",
    "auto_tweet_at_beginning",
    "auto_tweet_on_completion",
    "auto_tweet_on_creation",
    "auto_tweet_one_hour_before",
)


def base_url(writer: Writer) -> str:
    return writer.infra.settings.public_base_url


async def get_incident(
    session: AsyncSession, page: Page, incident_id: str, *, for_update: bool = False
) -> Incident:
    query = select(Incident).where(Incident.id == incident_id, Incident.page_id == page.id)
    if for_update:
        query = query.with_for_update()
    row = await session.scalar(query)
    if row is None:
        raise NotFound(NOT_FOUND)
    return row


# The change every write ends with --------------------------------------------------------------


async def page_indicator(session: AsyncSession, page_id: str) -> tuple[str, str]:
    """The page's indicator after this transaction's changes (API.md 5.3), for the webhook."""
    return (await PageStatuses.load(session, page_id)).indicator()


async def announce(
    writer: Writer,
    page: Page,
    incident: Incident,
    *,
    deliver: bool,
    kind: str = INCIDENT_UPDATE_EVENT,
) -> schemas.Incident:
    """The outbox event carrying the whole incident (API.md 4.3) and the page revision. `deliver`
    tells delivery whether subscribers are to hear of it (the webhook payload is `page` and
    `incident`; delivery drops the `deliver` key and adds `meta`)."""
    session = writer.session
    indicator, description = await page_indicator(session, page.id)
    view = await incident_view(session, base_url(writer), incident)
    payload = {
        "page": {"id": page.id, "status_indicator": indicator, "status_description": description},
        "incident": payload_of(view),
        "deliver": deliver and not incident.backfilled,
    }
    await outbox.emit(
        session, writer.work, writer.infra.notifier, kind=kind, payload=payload, page_id=page.id
    )
    await bump_revision(session, writer.work, writer.infra.notifier, page)
    return view


# Components -------------------------------------------------------------------------------------


async def _components_of_page(
    session: AsyncSession, page: Page, ids: list[str], field: str, *, lock: bool = False
) -> dict[str, Component]:
    if not ids:
        return {}
    query = select(Component).where(Component.page_id == page.id, Component.id.in_(ids))
    if lock:
        query = query.order_by(Component.id).with_for_update()
    rows = {row.id: row for row in await session.scalars(query)}
    unknown = [cid for cid in dict.fromkeys(ids) if cid not in rows]
    if unknown:
        raise Unprocessable(f"{field}: not components of this page: {', '.join(unknown)}")
    return rows


async def attached_ids(session: AsyncSession, incident_id: str) -> list[str]:
    rows = await session.scalars(
        select(IncidentComponent.component_id).where(IncidentComponent.incident_id == incident_id)
    )
    return list(rows.all())


async def _attach(
    session: AsyncSession, incident: Incident, ids: list[str], *, replace: bool, new: bool = False
) -> None:
    current = set() if new else set(await attached_ids(session, incident.id))
    wanted = set(ids) if replace else current | set(ids)
    if replace and current - wanted:
        await session.execute(
            delete(IncidentComponent).where(
                IncidentComponent.incident_id == incident.id,
                IncidentComponent.component_id.in_(current - wanted),
            )
        )
    for component_id in sorted(wanted - current):
        session.add(IncidentComponent(incident_id=incident.id, component_id=component_id))


async def apply_component_statuses(
    writer: Writer,
    page: Page,
    incident: Incident,
    rows: dict[str, Component],
    statuses: dict[str, str],
) -> list[dict[str, Any]]:
    """Set the components' statuses (history rows with source incident or maintenance, component
    webhook events) and answer the update's `affected_components`."""
    if not statuses:
        return []
    current = await PageStatuses.load(writer.session, page.id)
    source = "maintenance" if incident.is_maintenance else "incident"
    affected = []
    for component_id, new_status in statuses.items():
        row = rows[component_id]
        old_status = row.status
        await set_status(
            writer,
            page,
            row,
            new_status,
            source=source,
            incident_id=incident.id,
            statuses=current,
        )
        affected.append(
            {"code": row.id, "name": row.name, "old_status": old_status, "new_status": new_status}
        )
    return affected


def peak_impact(current: str, statuses: Iterable[str]) -> str:
    """Worst status among the incident's components, keeping the peak (API.md 5.3)."""
    worst = max(statuses, key=lambda s: SEVERITY.get(s, 0), default="operational")
    computed = _IMPACT_OF_STATUS.get(worst, "none")
    return computed if IMPACT_ORDER.index(computed) > IMPACT_ORDER.index(current) else current


async def refresh_impact(session: AsyncSession, incident: Incident) -> None:
    if incident.is_maintenance:
        incident.impact = "maintenance"
        return
    await session.flush()
    statuses = await session.scalars(
        select(Component.status)
        .join(IncidentComponent, IncidentComponent.component_id == Component.id)
        .where(IncidentComponent.incident_id == incident.id, Component.is_group.is_(False))
    )
    incident.impact = peak_impact(incident.impact or "none", statuses.all())


# Status and updates -----------------------------------------------------------------------------


def _check_status(incident: Incident, status: str) -> None:
    allowed = MAINTENANCE_STATUSES if incident.is_maintenance else REALTIME_STATUSES
    if status not in allowed:
        kind = "a scheduled maintenance" if incident.is_maintenance else "a realtime incident"
        raise Unprocessable(
            f"incident.status: {status!r} is not a status of {kind} ({', '.join(allowed)})"
        )


def _stamp_status(incident: Incident, status: str, now: datetime) -> None:
    if status == "monitoring" and incident.monitoring_at is None:
        incident.monitoring_at = now
    if status in ("resolved", "completed"):
        if incident.status != status or incident.resolved_at is None:
            incident.resolved_at = now
    else:
        incident.resolved_at = None
    incident.status = status


async def add_update(
    writer: Writer,
    incident: Incident,
    *,
    body: str,
    deliver: bool,
    affected: list[dict[str, Any]] | None,
    now: datetime,
    wants_twitter_update: bool = False,
) -> IncidentUpdate:
    update = IncidentUpdate(
        incident_id=incident.id,
        status=incident.status,
        body=body,
        display_at=now,
        affected_components=affected,
        deliver_notifications=deliver and not incident.backfilled,
        wants_twitter_update=wants_twitter_update,
        created_at=now,
        updated_at=now,
    )
    writer.session.add(update)
    return update


def _check_window(fields: schemas.IncidentFields, incident: Incident | None) -> None:
    changes = fields.model_fields_set
    start = (
        fields.scheduled_for
        if "scheduled_for" in changes
        else getattr(incident, "scheduled_for", None)
    )
    end = (
        fields.scheduled_until
        if "scheduled_until" in changes
        else getattr(incident, "scheduled_until", None)
    )
    if start is not None and end is not None and end < start:
        raise Unprocessable("incident.scheduled_until: must not be before scheduled_for")


def _copy_settings(incident: Incident, fields: schemas.IncidentFields) -> None:
    changes = fields.model_fields_set
    for name in _FLAGS:
        value = getattr(fields, name)
        if name in changes and value is not None:
            setattr(incident, name, value)
    legacy = fields.scheduled_auto_transition
    if legacy is not None and "scheduled_auto_in_progress" not in changes:
        incident.scheduled_auto_in_progress = legacy
    for name in ("scheduled_for", "scheduled_until"):
        if name in changes:
            if getattr(incident, name) != getattr(fields, name):
                # A new window deserves a new reminder.
                incident.scheduled_reminded_at = None
            setattr(incident, name, getattr(fields, name))
    if "impact_override" in changes:
        incident.impact_override = fields.impact_override
    if "metadata" in changes:
        incident.metadata_ = fields.metadata or {}
    if "reminder_intervals" in changes:
        incident.reminder_intervals = fields.reminder_intervals


async def _apply_template(
    session: AsyncSession, page: Page, fields: schemas.IncidentFields
) -> schemas.IncidentFields:
    """Extension: `template_id` prefills what the request leaves out."""
    if fields.template_id is None:
        return fields
    template = await session.scalar(
        select(IncidentTemplate).where(
            IncidentTemplate.id == fields.template_id, IncidentTemplate.page_id == page.id
        )
    )
    if template is None:
        raise Unprocessable(
            f"incident.template_id: {fields.template_id!r} is not a template of this page"
        )
    sent = fields.model_fields_set
    prefill: dict[str, Any] = {}
    if "name" not in sent:
        prefill["name"] = template.title
    if "body" not in sent:
        prefill["body"] = template.body
    if "status" not in sent and template.update_status is not None:
        prefill["status"] = template.update_status
    if "component_ids" not in sent and template.component_ids:
        existing = await session.scalars(
            select(Component.id).where(
                Component.page_id == page.id, Component.id.in_(template.component_ids)
            )
        )
        prefill["component_ids"] = list(existing.all())
    if "deliver_notifications" not in sent:
        prefill["deliver_notifications"] = template.should_send_notifications
    merged = fields.model_copy(update=prefill)
    merged.__pydantic_fields_set__ = sent | set(prefill)
    return merged


def _backfill_moment(day: date | None, now: datetime) -> datetime:
    return now if day is None else datetime.combine(day, time(), tzinfo=UTC)


async def create_incident(
    writer: Writer, page: Page, fields: schemas.IncidentFields
) -> schemas.Incident:
    session = writer.session
    fields = await _apply_template(session, page, fields)
    if fields.name is None:
        raise Unprocessable("incident.name: Field required")
    backfilled = bool(fields.backfilled)
    if backfilled and fields.components:
        raise Unprocessable("incident.components: a backfilled incident cannot change components")
    is_maintenance = (
        fields.status in MAINTENANCE_STATUSES
        if fields.status is not None
        else fields.scheduled_for is not None and not backfilled
    )
    if is_maintenance and (fields.scheduled_for is None or fields.scheduled_until is None):
        raise Unprocessable(
            "incident.scheduled_for: a scheduled maintenance needs scheduled_for and scheduled_until"
        )
    if not is_maintenance and fields.scheduled_for is not None and fields.status is not None:
        raise Unprocessable(
            f"incident.status: {fields.status!r} is a realtime status; a scheduled maintenance "
            "takes scheduled, in_progress, verifying or completed"
        )
    _check_window(fields, None)
    default_status = (
        "scheduled" if is_maintenance else ("resolved" if backfilled else "investigating")
    )
    status = fields.status or default_status
    now = utcnow()
    map_ids = list((fields.components or {}).keys())
    attach = list(dict.fromkeys([*(fields.component_ids or []), *map_ids]))
    rows = await _components_of_page(session, page, map_ids, "incident.components", lock=True)
    rows.update(
        await _components_of_page(
            session, page, [c for c in attach if c not in rows], "incident.component_ids"
        )
    )
    groups = sorted(cid for cid in map_ids if rows[cid].is_group)
    if groups:
        raise Unprocessable(
            f"incident.components: groups have no status of their own: {', '.join(groups)}"
        )

    started = _backfill_moment(fields.backfill_date, now) if backfilled else now
    wanted = dict(fields.components or {})
    impact = (
        "maintenance"
        if is_maintenance
        else peak_impact(
            "none",
            (wanted.get(cid, row.status) for cid, row in rows.items() if not row.is_group),
        )
    )
    incident = Incident(
        page_id=page.id,
        name=fields.name,
        status=status,
        is_maintenance=is_maintenance,
        impact=impact,
        started_at=started,
        metadata_={},
        backfilled=backfilled,
        backfill_date=fields.backfill_date,
        created_at=now,
        updated_at=now,
    )
    _copy_settings(incident, fields)
    _stamp_status(incident, status, started if backfilled else now)
    session.add(incident)
    await session.flush()
    await _attach(session, incident, attach, replace=False, new=True)
    affected = await apply_component_statuses(
        writer, page, incident, rows, dict(fields.components or {})
    )
    deliver = True if fields.deliver_notifications is None else fields.deliver_notifications
    await add_update(
        writer,
        incident,
        body=fields.body or "",
        deliver=deliver,
        affected=affected if fields.components is not None else None,
        now=now,
    )
    return await announce(writer, page, incident, deliver=deliver)


async def update_incident(
    writer: Writer, page: Page, incident: Incident, fields: schemas.IncidentFields
) -> schemas.Incident:
    """A status and/or a body (or a change of component statuses) appends an update; name,
    impact_override, metadata and settings alone do not."""
    session = writer.session
    changes = fields.model_fields_set
    if "template_id" in changes:
        raise Unprocessable("incident.template_id: only applies when creating an incident")
    if fields.status is not None:
        _check_status(incident, fields.status)
    if incident.backfilled and fields.components:
        raise Unprocessable("incident.components: a backfilled incident cannot change components")
    if not incident.is_maintenance and (
        fields.scheduled_for is not None or fields.scheduled_until is not None
    ):
        raise Unprocessable("incident.scheduled_for: a realtime incident has no maintenance window")
    _check_window(fields, incident)
    now = utcnow()
    map_ids = list((fields.components or {}).keys())
    rows = await _components_of_page(session, page, map_ids, "incident.components", lock=True)
    if fields.component_ids is not None:
        rows.update(
            await _components_of_page(
                session,
                page,
                [c for c in fields.component_ids if c not in rows],
                "incident.component_ids",
            )
        )
    groups = sorted(cid for cid in map_ids if rows[cid].is_group)
    if groups:
        raise Unprocessable(
            f"incident.components: groups have no status of their own: {', '.join(groups)}"
        )

    if fields.name is not None:
        incident.name = fields.name
    _copy_settings(incident, fields)
    if fields.component_ids is not None:
        await _attach(session, incident, [*fields.component_ids, *map_ids], replace=True)
    elif map_ids:
        await _attach(session, incident, map_ids, replace=False)
    if fields.status is not None:
        _stamp_status(incident, fields.status, now)
    affected = await apply_component_statuses(
        writer, page, incident, rows, dict(fields.components or {})
    )
    changed_components = any(a["old_status"] != a["new_status"] for a in affected)
    makes_update = fields.status is not None or "body" in changes or changed_components
    deliver = True if fields.deliver_notifications is None else fields.deliver_notifications
    if makes_update:
        await add_update(
            writer,
            incident,
            body=fields.body or "",
            deliver=deliver,
            affected=affected if fields.components is not None else None,
            now=now,
        )
    incident.updated_at = now
    await refresh_impact(session, incident)
    return await announce(writer, page, incident, deliver=deliver and makes_update)


async def delete_incident(writer: Writer, page: Page, incident: Incident) -> schemas.Incident:
    view = await incident_view(writer.session, base_url(writer), incident)
    await writer.session.delete(incident)
    await writer.session.flush()
    indicator, description = await page_indicator(writer.session, page.id)
    payload = {
        "page": {"id": page.id, "status_indicator": indicator, "status_description": description},
        "incident": payload_of(view),
        "deleted": True,
        "deliver": False,
    }
    await outbox.emit(
        writer.session,
        writer.work,
        writer.infra.notifier,
        kind=INCIDENT_UPDATE_EVENT,
        payload=payload,
        page_id=page.id,
    )
    await bump_revision(writer.session, writer.work, writer.infra.notifier, page)
    return view


async def edit_update(
    writer: Writer,
    page: Page,
    incident: Incident,
    update_id: str,
    fields: schemas.IncidentUpdateFields,
) -> schemas.IncidentUpdate:
    session = writer.session
    update = await session.scalar(
        select(IncidentUpdate).where(
            IncidentUpdate.id == update_id, IncidentUpdate.incident_id == incident.id
        )
    )
    if update is None:
        raise NotFound(NOT_FOUND)
    for name, value in fields.model_dump(exclude_unset=True).items():
        if value is None and name != "custom_tweet":
            raise Unprocessable(f"incident_update.{name} may not be null")
        setattr(update, name, value)
    now = utcnow()
    update.updated_at = now
    incident.updated_at = now
    await announce(writer, page, incident, deliver=False)
    return update_out(update)
