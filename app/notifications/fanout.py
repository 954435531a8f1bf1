"""Fan-out: an outbox event becomes one delivery row per subscriber who is to hear of it, in one
`INSERT ... SELECT ... ON CONFLICT DO NOTHING` (so a relay that runs twice adds nothing).

Who hears what (API.md 4.1, 4.4), among those subscribed when the event happened: incident and
maintenance events go to active page subscribers whose component scope touches the incident (or
who have none) and to that incident's own subscribers; SMS only on creation, resolution and the
start of maintenance; component status changes go to webhook subscribers only; nothing at all when
the event says `deliver: false` (backfilled, or `deliver_notifications` false). Reminders of open incidents are for the team, not
subscribers; reminders of upcoming maintenance go to subscribers (except SMS).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.timefmt import utcnow
from app.models import OutboxEvent
from app.models.incident import MAINTENANCE_STATUSES
from app.notifications.outbox import register

INCIDENT_UPDATE = "incident.update"
INCIDENT_REMINDER = "incident.reminder"
COMPONENT_UPDATE = "component.update"
SUBSCRIBER_CONFIRMATION = "subscriber.confirmation"
SUBSCRIBER_UNSUBSCRIBED = "subscriber.unsubscribed"
SUBSCRIBER_QUARANTINED = "subscriber.quarantined"
# A viewer's one-time sign-in link to an audience-specific page: not a subscriber's, so no delivery
# rows; its handler (app/audiences/signin.py) mints the token and sends the email itself.
PAGE_ACCESS_SIGNIN = "page_access_user.signin"
# Messages about the subscription itself: sent whatever the subscriber's state.
NOTICE_KINDS = frozenset({SUBSCRIBER_CONFIRMATION, SUBSCRIBER_UNSUBSCRIBED, SUBSCRIBER_QUARANTINED})

EVENT_MODES = ("email", "webhook", "slack", "teams")
RESOLVED_STATUSES = ("resolved", "completed")

_COLUMNS = "(event_id, subscriber_id, page_id, channel, event_kind, state, attempts, next_attempt_at, created_at)"

_INCIDENT_FANOUT = text(
    f"""
    INSERT INTO deliveries {_COLUMNS}
    SELECT :event_id, s.id, s.page_id, s.mode, :kind, 'pending', 0, :now, :now
    FROM subscribers s
    WHERE s.page_id = :page_id AND s.state = 'active' AND s.mode = ANY(CAST(:modes AS varchar[]))
      AND s.created_at <= :happened_at
      AND ((s.incident_id IS NULL
            AND (s.component_ids IS NULL OR s.component_ids && CAST(:components AS varchar[])))
           OR s.incident_id = :incident_id)
    ON CONFLICT (event_id, subscriber_id) DO NOTHING
    """
)

_COMPONENT_FANOUT = text(
    f"""
    INSERT INTO deliveries {_COLUMNS}
    SELECT :event_id, s.id, s.page_id, s.mode, :kind, 'pending', 0, :now, :now
    FROM subscribers s
    WHERE s.page_id = :page_id AND s.state = 'active' AND s.mode = 'webhook'
      AND s.created_at <= :happened_at AND s.incident_id IS NULL
      AND (s.component_ids IS NULL OR s.component_ids && CAST(:components AS varchar[]))
    ON CONFLICT (event_id, subscriber_id) DO NOTHING
    """
)

# A notice about the subscription goes by SMS to an SMS subscriber (when `sms` allows it) and
# otherwise to the subscriber's email address (a webhook subscriber's contact address).
_NOTICE_FANOUT = text(
    f"""
    INSERT INTO deliveries {_COLUMNS}
    SELECT :event_id, s.id, s.page_id,
           CASE WHEN s.mode = 'sms' AND :sms THEN 'sms' ELSE 'email' END,
           :kind, 'pending', 0, :now, :now
    FROM subscribers s
    WHERE s.id = :subscriber_id AND ((s.mode = 'sms' AND :sms) OR s.email IS NOT NULL)
    ON CONFLICT (event_id, subscriber_id) DO NOTHING
    """
)


def is_maintenance(incident: dict[str, Any]) -> bool:
    return (
        incident.get("scheduled_for") is not None or incident.get("status") in MAINTENANCE_STATUSES
    )


def sms_worthy(incident: dict[str, Any]) -> bool:
    """Creation, resolution, or the start of maintenance (API.md 4.4), read from the incident's
    updates (newest first): the first one, the first resolved/completed one, or the first
    in_progress one of a maintenance."""
    updates = incident.get("incident_updates") or []
    if len(updates) <= 1:
        return True
    newest, earlier = updates[0].get("status"), [u.get("status") for u in updates[1:]]
    if newest in RESOLVED_STATUSES and not any(s in RESOLVED_STATUSES for s in earlier):
        return True
    return newest == "in_progress" and is_maintenance(incident) and "in_progress" not in earlier


def incident_modes(kind: str, payload: dict[str, Any]) -> list[str]:
    """The subscriber modes that are to hear of this incident event (empty: nobody)."""
    incident = payload.get("incident")
    if not payload.get("deliver") or not isinstance(incident, dict):
        return []
    if kind == INCIDENT_REMINDER:
        return list(EVENT_MODES) if is_maintenance(incident) else []
    return [*EVENT_MODES, "sms"] if sms_worthy(incident) else list(EVENT_MODES)


def incident_components(incident: dict[str, Any]) -> list[str]:
    """The incident's components and their groups (a scope may name a group for its members)."""
    ids: list[str] = []
    for component in incident.get("components") or []:
        ids.append(component["id"])
        if component.get("group_id"):
            ids.append(component["group_id"])
    return list(dict.fromkeys(ids))


@register(INCIDENT_UPDATE)
@register(INCIDENT_REMINDER)
async def fan_out_incident(session: AsyncSession, event: OutboxEvent) -> None:
    modes = incident_modes(event.kind, event.payload)
    if not modes or event.page_id is None:
        return
    incident = event.payload["incident"]
    await session.execute(
        _INCIDENT_FANOUT,
        {
            "event_id": event.id,
            "kind": event.kind,
            "now": utcnow(),
            "page_id": event.page_id,
            "modes": modes,
            "happened_at": event.created_at,
            "components": incident_components(incident),
            "incident_id": incident["id"],
        },
    )


@register(COMPONENT_UPDATE)
async def fan_out_component(session: AsyncSession, event: OutboxEvent) -> None:
    component = event.payload.get("component") or {}
    if event.page_id is None or not component.get("id"):
        return
    scope = [component["id"], *([component["group_id"]] if component.get("group_id") else [])]
    await session.execute(
        _COMPONENT_FANOUT,
        {
            "event_id": event.id,
            "kind": event.kind,
            "now": utcnow(),
            "page_id": event.page_id,
            "happened_at": event.created_at,
            "components": scope,
        },
    )


@register(SUBSCRIBER_CONFIRMATION)
@register(SUBSCRIBER_UNSUBSCRIBED)
@register(SUBSCRIBER_QUARANTINED)
async def fan_out_notice(session: AsyncSession, event: OutboxEvent) -> None:
    subscriber_id = event.payload.get("subscriber_id")
    if not subscriber_id:
        return
    await session.execute(
        _NOTICE_FANOUT,
        {
            "event_id": event.id,
            "kind": event.kind,
            "now": utcnow(),
            "subscriber_id": subscriber_id,
            # The quarantine notice goes to the contact address, never by SMS.
            "sms": event.kind != SUBSCRIBER_QUARANTINED,
        },
    )
