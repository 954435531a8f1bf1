"""Jobs: thin wrappers over app functions that take what the worker built in on_startup."""

from __future__ import annotations

from typing import Any

from app.core.timefmt import utcnow
from app.incidents import scheduler
from app.metrics.service import purge_expired_points
from app.notifications.outbox import relay_pending


async def relay_outbox(ctx: dict[str, Any]) -> int:
    """Relay every pending outbox event (safe to run twice: rows are claimed with SKIP LOCKED)."""
    return await relay_pending(ctx["db"].sessionmaker)


async def incident_scheduler(ctx: dict[str, Any]) -> int:
    """Maintenance reminders and automatic transitions, incident reminders (exactly once even with
    several workers: rows are claimed with SKIP LOCKED and their state re-checked)."""
    infra = scheduler.worker_infrastructure(ctx["settings"], ctx["db"], ctx["redis"])
    try:
        outcome = await scheduler.run_due(infra, utcnow())
    finally:
        await infra.notifier.flush()  # page revisions published, outbox relay enqueued
    return outcome.total


async def purge_metric_points(ctx: dict[str, Any]) -> int:
    """Raw metric points (and short-period rollups) past STATUSPAGE_METRICS_RAW_RETENTION_DAYS."""
    return await purge_expired_points(
        ctx["db"].sessionmaker, ctx["settings"].metrics_raw_retention_days
    )
