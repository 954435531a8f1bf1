"""Status API v2 documents (API.md 5.1-5.3) rendered from one consistent view of a page: shapes
exactly as Statuspage's, timestamps in the page's time zone with milliseconds, the 50-item caps,
group rows carrying their members' ids, and components shown only when degraded hidden while
they are operational. The status indicator is the one the webhooks use (PageStatuses)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.components.rollup import page_status as rolled_up_status
from app.components.service import PageStatuses, display_order, page_components
from app.incidents.views import affected
from app.models import Component, Incident, IncidentUpdate
from app.public.format import local_timestamp
from app.public.snapshots import RenderContext, Visibility

LIST_CAP = 50  # incidents.json and scheduled-maintenances.json: "the 50 most recent"
UNRESOLVED_STATUSES = ("investigating", "identified", "monitoring")
SUMMARY_MAINTENANCE_STATUSES = ("scheduled", "in_progress", "verifying")


def _ts(context: RenderContext, value: Any) -> str | None:
    return None if value is None else local_timestamp(value, context.zone)


def page_object(context: RenderContext) -> dict[str, Any]:
    page = context.page
    return {
        "id": page.id,
        "name": page.name,
        "url": context.base_url,
        "time_zone": page.time_zone,
        "updated_at": _ts(context, context.changed_at),
    }


def component_object(
    context: RenderContext, row: Component, members: Sequence[str] | None
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "status": row.status,
        "created_at": _ts(context, row.created_at),
        "updated_at": _ts(context, row.updated_at),
        "position": row.position,
        "description": row.description,
        "showcase": row.showcase,
        "start_date": row.start_date.isoformat() if row.start_date else None,
        "group_id": row.group_id,
        "page_id": row.page_id,
        "group": row.is_group,
        "only_show_if_degraded": row.only_show_if_degraded,
    }
    if row.is_group:
        item["components"] = list(members or ())
    return item


def _hidden(row: Component) -> bool:
    return row.only_show_if_degraded and not row.is_group and row.status == "operational"


async def visible_components(context: RenderContext) -> list[dict[str, Any]]:
    """Every component and group row in display order, less those hidden while operational."""
    rows = display_order(await page_components(context.session, context.page.id))
    shown = [row for row in rows if not _hidden(row)]
    if context.visible is not None:  # an audience sees what it was granted
        shown = [row for row in shown if row.id in context.visible.components]
    members: dict[str, list[str]] = defaultdict(list)
    for row in shown:
        if row.group_id is not None:
            members[row.group_id].append(row.id)
    return [component_object(context, row, members.get(row.id)) for row in shown]


async def page_status(context: RenderContext) -> dict[str, str]:
    statuses = await PageStatuses.load(context.session, context.page.id)
    if context.visible is None:
        indicator, description = statuses.indicator()
    else:
        indicator, description = await audience_indicator(
            context.session, context.page.id, statuses, context.visible
        )
    return {"indicator": indicator, "description": description}


async def audience_indicator(
    session: AsyncSession, page_id: str, statuses: PageStatuses, visible: Visibility
) -> tuple[str, str]:
    """The indicator of what an audience sees: its components and the unresolved incidents it is
    shown (the same rules as PageStatuses, on the audience's share)."""
    leaves = [
        status
        for component_id, (status, _, is_group) in statuses.rows.items()
        if not is_group and component_id in visible.components
    ]
    open_incidents = (
        await session.execute(
            select(Incident.id, Incident.impact_override, Incident.impact).where(
                Incident.page_id == page_id,
                Incident.is_maintenance.is_(False),
                Incident.backfilled.is_(False),
                Incident.status != "resolved",
            )
        )
    ).all()
    touched = await affected(session, [row.id for row in open_incidents])
    impacts = [
        row.impact_override or row.impact
        for row in open_incidents
        if visible.shows_incident([c.id for c in touched[row.id]])
    ]
    return rolled_up_status(leaves, impacts)


@dataclass(frozen=True)
class IncidentRecord:
    row: Incident
    updates: list[IncidentUpdate]  # newest first
    components: list[Component]


async def load_incidents(context: RenderContext, query: Select[Incident]) -> list[IncidentRecord]:
    """The incidents `query` selects, each with its updates and components (three queries)."""
    rows = list((await context.session.scalars(query)).all())
    return await _records(context, rows)


async def load_capped(
    context: RenderContext, query: Select[Incident], cap: int
) -> list[IncidentRecord]:
    """The first `cap` incidents of `query` that the viewer may see: for an audience the cap counts
    only what it sees, as if the page held nothing else (read in batches until it is reached)."""
    if context.visible is None:
        return await load_incidents(context, query.limit(cap))
    shown: list[IncidentRecord] = []
    offset = 0
    while len(shown) < cap:
        batch = list((await context.session.scalars(query.offset(offset).limit(cap * 4))).all())
        shown += await _records(context, batch)
        if len(batch) < cap * 4:
            break
        offset += len(batch)
    return shown[:cap]


async def _records(context: RenderContext, rows: list[Incident]) -> list[IncidentRecord]:
    ids = [row.id for row in rows]
    updates: dict[str, list[IncidentUpdate]] = defaultdict(list)
    if ids:
        found = await context.session.scalars(
            select(IncidentUpdate)
            .where(IncidentUpdate.incident_id.in_(ids))
            .order_by(
                IncidentUpdate.display_at.desc(),
                IncidentUpdate.created_at.desc(),
                IncidentUpdate.id.desc(),
            )
        )
        for update in found:
            updates[update.incident_id].append(update)
    components = await affected(context.session, ids)
    records = [IncidentRecord(row, updates[row.id], components[row.id]) for row in rows]
    visible = context.visible
    if visible is None:
        return records
    # An audience sees the incidents touching its components (or none: page-wide), and of those
    # only its own components.
    return [
        IncidentRecord(
            record.row,
            record.updates,
            [c for c in record.components if c.id in visible.components],
        )
        for record in records
        if visible.shows_incident([c.id for c in record.components])
    ]


def public_status(row: Incident) -> str:
    """Resolved incidents with a published postmortem show as `postmortem` (API.md 2.0)."""
    if not row.is_maintenance and row.status == "resolved" and row.postmortem_published_at:
        return "postmortem"
    return row.status


def _affected_components(
    value: list[dict[str, Any]] | None, visible: Visibility | None = None
) -> list[dict[str, Any]] | None:
    if value is None:
        return None
    keys = ("code", "name", "old_status", "new_status")
    if visible is not None:
        value = [item for item in value if item.get("code") in visible.components]
    return [{key: item.get(key) for key in keys} for item in value]


def incident_object(context: RenderContext, record: IncidentRecord) -> dict[str, Any]:
    row = record.row
    item: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "status": public_status(row),
        "created_at": _ts(context, row.created_at),
        "updated_at": _ts(context, row.updated_at),
        "monitoring_at": _ts(context, row.monitoring_at),
        "resolved_at": _ts(context, row.resolved_at),
        "impact": row.impact_override or row.impact,
        "shortlink": f"{context.base_url}/incidents/{row.id}",
        "started_at": _ts(context, row.started_at),
        "page_id": row.page_id,
        "incident_updates": [
            {
                "id": update.id,
                "status": update.status,
                "body": update.body,
                "incident_id": update.incident_id,
                "created_at": _ts(context, update.created_at),
                "updated_at": _ts(context, update.updated_at),
                "display_at": _ts(context, update.display_at),
                "affected_components": _affected_components(
                    update.affected_components, context.visible
                ),
                "deliver_notifications": update.deliver_notifications,
                "custom_tweet": update.custom_tweet,
                "tweet_id": update.tweet_id,
            }
            for update in record.updates
        ],
        "components": [component_object(context, c, None) for c in record.components],
        "reminder_intervals": row.reminder_intervals,
    }
    if row.is_maintenance:
        item["scheduled_for"] = _ts(context, row.scheduled_for)
        item["scheduled_until"] = _ts(context, row.scheduled_until)
    return item


def _realtime(context: RenderContext) -> Select[Incident]:
    return select(Incident).where(
        Incident.page_id == context.page.id, Incident.is_maintenance.is_(False)
    )


def _maintenances(context: RenderContext, statuses: Sequence[str]) -> Select[Incident]:
    return (
        select(Incident)
        .where(
            Incident.page_id == context.page.id,
            Incident.is_maintenance.is_(True),
            Incident.status.in_(statuses),
        )
        .order_by(Incident.scheduled_for.desc().nulls_last(), Incident.created_at.desc())
    )


async def _incident_list(context: RenderContext, query: Select[Incident]) -> list[dict[str, Any]]:
    return [incident_object(context, r) for r in await load_incidents(context, query)]


async def unresolved_incidents(context: RenderContext) -> list[dict[str, Any]]:
    query = _realtime(context).where(Incident.status.in_(UNRESOLVED_STATUSES))
    return await _incident_list(context, query.order_by(Incident.created_at.desc(), Incident.id))


def _dump(document: dict[str, Any]) -> bytes:
    return orjson.dumps(document)


async def render_summary(context: RenderContext) -> bytes:
    return _dump(
        {
            "page": page_object(context),
            "components": await visible_components(context),
            "incidents": await unresolved_incidents(context),
            "scheduled_maintenances": await _incident_list(
                context, _maintenances(context, SUMMARY_MAINTENANCE_STATUSES)
            ),
            "status": await page_status(context),
        }
    )


async def render_status(context: RenderContext) -> bytes:
    return _dump({"page": page_object(context), "status": await page_status(context)})


async def render_components(context: RenderContext) -> bytes:
    return _dump({"page": page_object(context), "components": await visible_components(context)})


async def render_incidents(context: RenderContext) -> bytes:
    query = _realtime(context).order_by(Incident.created_at.desc(), Incident.id)
    records = await load_capped(context, query, LIST_CAP)
    incidents = [incident_object(context, record) for record in records]
    return _dump({"page": page_object(context), "incidents": incidents})


async def render_unresolved(context: RenderContext) -> bytes:
    return _dump({"page": page_object(context), "incidents": await unresolved_incidents(context)})


async def _render_maintenances(
    context: RenderContext, statuses: Sequence[str], limit: int | None = None
) -> bytes:
    query = _maintenances(context, statuses)
    if limit is None:
        records = await load_incidents(context, query)
    else:
        records = await load_capped(context, query, limit)
    maintenances = [incident_object(context, record) for record in records]
    return _dump({"page": page_object(context), "scheduled_maintenances": maintenances})


async def render_maintenances(context: RenderContext) -> bytes:
    every = ("scheduled", "in_progress", "verifying", "completed")
    return await _render_maintenances(context, every, LIST_CAP)


async def render_upcoming(context: RenderContext) -> bytes:
    return await _render_maintenances(context, ("scheduled",))


async def render_active(context: RenderContext) -> bytes:
    return await _render_maintenances(context, ("in_progress", "verifying"))
