"""Incidents as the API and the webhooks show them: loaded in batches (updates and components for
many incidents in two queries) and serialized with every field, nulls included."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.components.schemas import Component as ComponentOut
from app.incidents import schemas
from app.models import Component, Incident, IncidentComponent, IncidentUpdate


def shortlink(base_url: str, incident_id: str) -> str:
    return f"{base_url.rstrip('/')}/incidents/{incident_id}"


def update_out(row: IncidentUpdate) -> schemas.IncidentUpdate:
    return schemas.IncidentUpdate(
        id=row.id,
        incident_id=row.incident_id,
        status=row.status,
        body=row.body,
        created_at=row.created_at,
        updated_at=row.updated_at,
        display_at=row.display_at,
        affected_components=(
            None
            if row.affected_components is None
            else [schemas.AffectedComponent.model_validate(a) for a in row.affected_components]
        ),
        deliver_notifications=row.deliver_notifications,
        custom_tweet=row.custom_tweet,
        tweet_id=row.tweet_id,
        twitter_updated_at=row.twitter_updated_at,
        wants_twitter_update=row.wants_twitter_update,
    )


def incident_out(
    row: Incident,
    updates: Sequence[IncidentUpdate],
    components: Sequence[Component],
    base_url: str,
) -> schemas.Incident:
    return schemas.Incident(
        id=row.id,
        page_id=row.page_id,
        name=row.name,
        status=row.status,
        impact=(row.impact_override or row.impact),
        impact_override=row.impact_override,
        created_at=row.created_at,
        updated_at=row.updated_at,
        started_at=row.started_at,
        monitoring_at=row.monitoring_at,
        resolved_at=row.resolved_at,
        shortlink=shortlink(base_url, row.id),
        components=[ComponentOut.of(c) for c in components],
        incident_updates=[update_out(u) for u in updates],
        metadata=row.metadata_ or {},
        backfilled=row.backfilled,
        backfill_date=row.backfill_date,
        postmortem_body=row.postmortem_body,
        postmortem_body_last_updated_at=row.postmortem_body_last_updated_at,
        postmortem_ignored=row.postmortem_ignored,
        postmortem_notified_subscribers=row.postmortem_notified_subscribers,
        postmortem_notified_twitter=row.postmortem_notified_twitter,
        postmortem_published_at=row.postmortem_published_at,
        scheduled_for=row.scheduled_for,
        scheduled_until=row.scheduled_until,
        scheduled_remind_prior=row.scheduled_remind_prior,
        scheduled_reminded_at=row.scheduled_reminded_at,
        scheduled_auto_in_progress=row.scheduled_auto_in_progress,
        scheduled_auto_completed=row.scheduled_auto_completed,
        scheduled_auto_transition=row.scheduled_auto_in_progress,
        auto_transition_to_maintenance_state=row.auto_transition_to_maintenance_state,
        auto_transition_to_operational_state=row.auto_transition_to_operational_state,
        auto_transition_deliver_notifications_at_start=(
            row.auto_transition_deliver_notifications_at_start
        ),
        auto_transition_deliver_notifications_at_end=row.auto_transition_deliver_notifications_at_end,
        auto_tweet_at_beginning=row.auto_tweet_at_beginning,
        auto_tweet_on_completion=row.auto_tweet_on_completion,
        auto_tweet_on_creation=row.auto_tweet_on_creation,
        auto_tweet_one_hour_before=row.auto_tweet_one_hour_before,
        reminder_intervals=row.reminder_intervals,
    )


async def affected(
    session: AsyncSession, incident_ids: Sequence[str]
) -> dict[str, list[Component]]:
    """incident id -> its components, in the page's display order."""
    result: dict[str, list[Component]] = defaultdict(list)
    if not incident_ids:
        return result
    rows = await session.execute(
        select(IncidentComponent.incident_id, Component)
        .join(Component, Component.id == IncidentComponent.component_id)
        .where(IncidentComponent.incident_id.in_(incident_ids))
        .order_by(Component.position, Component.name, Component.id)
    )
    for incident_id, component in rows:
        result[incident_id].append(component)
    return result


async def incident_views(
    session: AsyncSession, base_url: str, incidents: Sequence[Incident]
) -> list[schemas.Incident]:
    ids = [i.id for i in incidents]
    updates: dict[str, list[IncidentUpdate]] = defaultdict(list)
    if ids:
        rows = await session.scalars(
            select(IncidentUpdate)
            .where(IncidentUpdate.incident_id.in_(ids))
            .order_by(IncidentUpdate.created_at.desc(), IncidentUpdate.id.desc())
        )
        for update in rows:
            updates[update.incident_id].append(update)
    components = await affected(session, ids)
    return [incident_out(i, updates[i.id], components[i.id], base_url) for i in incidents]


async def incident_view(
    session: AsyncSession, base_url: str, incident: Incident
) -> schemas.Incident:
    return (await incident_views(session, base_url, [incident]))[0]


def payload_of(view: schemas.Incident) -> dict[str, Any]:
    return view.model_dump(mode="json")
