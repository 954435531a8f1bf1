"""Time-driven incident changes, made by the worker as ordinary writes: maintenance reminders, the
automatic start and end of maintenance windows, and reminders for open realtime incidents.

Every function takes `now`, so tests drive it with their own clock. Rows are claimed with
`FOR UPDATE SKIP LOCKED` and the claim re-checks the incident's state, so two workers running at
once make each transition exactly once. Times are instants (UTC), so a window across a daylight
saving change in the page's time zone starts and ends at its real moments.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy import Select, select
from starlette.responses import Response

from app.core.config import Settings
from app.core.context import UnitOfWork, Writer
from app.core.db import Database
from app.core.idempotency import IdempotencyStore
from app.core.infra import Infrastructure
from app.core.keycache import PrincipalCache
from app.core.metrics import Metrics
from app.core.notifier import Notifier
from app.core.queue import Queue
from app.core.ratelimit import RateLimiter
from app.incidents.schemas import reminder_hours
from app.incidents.service import (
    INCIDENT_REMINDER_EVENT,
    add_update,
    announce,
    apply_component_statuses,
    attached_ids,
)
from app.models import Component, Incident, Page

ACTOR = "scheduler"
REMIND_BEFORE = timedelta(minutes=60)
BATCH = 50
REALTIME_BATCH = 1000
START_BODY = "Scheduled maintenance is currently in progress. We will provide updates as necessary."
END_BODY = "The scheduled maintenance has been completed."


@dataclass
class Outcome:
    reminded: int = 0
    started: int = 0
    completed: int = 0
    incident_reminders: int = 0

    @property
    def total(self) -> int:
        return self.reminded + self.started + self.completed + self.incident_reminders


def worker_infrastructure(settings: Settings, db: Database, redis: Redis) -> Infrastructure:
    """What a Writer needs, built over the worker's database and arq's Redis pool. Its notifier is
    not started: the job flushes it once at the end (page revisions published, relay enqueued)."""
    queue = Queue(redis)  # type: ignore[arg-type]  # arq's pool is a Redis with extras
    return Infrastructure(
        settings=settings,
        db=db,
        queue=queue,
        rate_limiter=RateLimiter(queue.redis, 0),
        idempotency=IdempotencyStore(queue.redis, settings.idempotency_ttl_seconds),
        metrics=Metrics(),
        principals=PrincipalCache(0),
        notifier=Notifier(queue),
    )


Action = Callable[[Writer, Page, Incident, datetime], Awaitable[bool]]


async def _each(
    infra: Infrastructure,
    query: Select[Incident],
    action: Action,
    now: datetime,
    *,
    batch: int = BATCH,
    repeat: bool = True,
) -> int:
    """Claim due incidents in batches (one transaction each) and apply `action` to each."""
    done = 0
    while True:
        work = UnitOfWork()
        session = infra.db.sessionmaker()
        work.session = session
        try:
            claimed = list(
                (await session.scalars(query.limit(batch).with_for_update(skip_locked=True))).all()
            )
            for incident in claimed:
                page = await session.get(Page, incident.page_id)
                if page is not None and await action(
                    Writer(session, work, infra, ACTOR), page, incident, now
                ):
                    done += 1
            await work.finish(Response(status_code=200))
        except BaseException:
            await work.abort()
            raise
        finally:
            await work.close()
        if not repeat or len(claimed) < batch:
            return done


async def _attached_leaves(writer: Writer, incident: Incident) -> dict[str, Component]:
    ids = await attached_ids(writer.session, incident.id)
    if not ids:
        return {}
    rows = await writer.session.scalars(
        select(Component)
        .where(Component.id.in_(ids), Component.is_group.is_(False))
        .order_by(Component.id)
        .with_for_update()
    )
    return {row.id: row for row in rows}


async def _transition(
    writer: Writer,
    page: Page,
    incident: Incident,
    now: datetime,
    *,
    status: str,
    body: str,
    component_status: str | None,
    deliver: bool,
) -> bool:
    rows = await _attached_leaves(writer, incident) if component_status else {}
    incident.status = status
    if status == "completed":
        incident.resolved_at = now
    affected = await apply_component_statuses(
        writer, page, incident, rows, dict.fromkeys(rows, component_status or "")
    )
    await add_update(
        writer, incident, body=body, deliver=deliver, affected=affected or None, now=now
    )
    incident.updated_at = now
    await announce(writer, page, incident, deliver=deliver)
    return True


async def _start(writer: Writer, page: Page, incident: Incident, now: datetime) -> bool:
    target = "under_maintenance" if incident.auto_transition_to_maintenance_state else None
    return await _transition(
        writer,
        page,
        incident,
        now,
        status="in_progress",
        body=START_BODY,
        component_status=target,
        deliver=incident.auto_transition_deliver_notifications_at_start,
    )


async def _complete(writer: Writer, page: Page, incident: Incident, now: datetime) -> bool:
    target = "operational" if incident.auto_transition_to_operational_state else None
    return await _transition(
        writer,
        page,
        incident,
        now,
        status="completed",
        body=END_BODY,
        component_status=target,
        deliver=incident.auto_transition_deliver_notifications_at_end,
    )


async def _remind_maintenance(
    writer: Writer, page: Page, incident: Incident, now: datetime
) -> bool:
    incident.scheduled_reminded_at = now
    incident.updated_at = now
    await announce(writer, page, incident, deliver=True, kind=INCIDENT_REMINDER_EVENT)
    return True


async def _remind_incident(writer: Writer, page: Page, incident: Incident, now: datetime) -> bool:
    elapsed = now - incident.started_at
    due = sum(
        1
        for hours in reminder_hours(incident.reminder_intervals)
        if elapsed >= timedelta(hours=hours)
    )
    if due <= incident.reminders_sent:
        return False
    incident.reminders_sent = due
    await announce(writer, page, incident, deliver=True, kind=INCIDENT_REMINDER_EVENT)
    return True


def _maintenances(*statuses: str) -> Select[Incident]:
    return (
        select(Incident)
        .where(Incident.is_maintenance.is_(True), Incident.status.in_(statuses))
        .order_by(Incident.scheduled_for, Incident.id)
    )


async def run_due(infra: Infrastructure, now: datetime) -> Outcome:
    """Everything due at `now`; safe to run concurrently and repeatedly."""
    outcome = Outcome()
    outcome.reminded = await _each(
        infra,
        _maintenances("scheduled").where(
            Incident.scheduled_remind_prior.is_(True),
            Incident.scheduled_reminded_at.is_(None),
            Incident.scheduled_for <= now + REMIND_BEFORE,
            Incident.scheduled_for > now,
        ),
        _remind_maintenance,
        now,
    )
    outcome.started = await _each(
        infra,
        _maintenances("scheduled").where(
            Incident.scheduled_auto_in_progress.is_(True), Incident.scheduled_for <= now
        ),
        _start,
        now,
    )
    outcome.completed = await _each(
        infra,
        _maintenances("scheduled", "in_progress", "verifying").where(
            Incident.scheduled_auto_completed.is_(True), Incident.scheduled_until <= now
        ),
        _complete,
        now,
    )
    outcome.incident_reminders = await _each(
        infra,
        select(Incident)
        .where(
            Incident.is_maintenance.is_(False),
            Incident.backfilled.is_(False),
            Incident.status != "resolved",
            Incident.started_at <= now - timedelta(hours=1),
            Incident.reminders_sent < 24,
            Incident.reminder_intervals.is_(None) | (Incident.reminder_intervals != "[]"),
        )
        .order_by(Incident.started_at, Incident.id),
        _remind_incident,
        now,
        # Candidates not yet due stay candidates: one pass, not a loop until none are left.
        batch=REALTIME_BATCH,
        repeat=False,
    )
    return outcome
