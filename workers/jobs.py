"""Jobs: thin wrappers over app functions that take what the worker built in on_startup."""

from __future__ import annotations

from typing import Any

from app.core.timefmt import utcnow
from app.incidents import scheduler
from app.metrics.rollups import fold_pending
from app.metrics.service import purge_expired_points
from app.notifications import delivery, quarantine
from app.notifications.outbox import relay_pending


async def relay_outbox(ctx: dict[str, Any]) -> int:
    """Relay every pending outbox event (safe to run twice: rows are claimed with SKIP LOCKED);
    fan-out handlers add delivery rows, so drain jobs are started for them."""
    relayed = await relay_pending(ctx["db"].sessionmaker)
    if relayed:
        await delivery.wake(ctx["deliverer"])
    return relayed


async def deliver_pending(ctx: dict[str, Any]) -> int:
    """Send due deliveries batch after batch; past the time budget, hand over to a new job."""
    drained = await delivery.drain(ctx["deliverer"])
    if drained.more:
        await delivery.wake(ctx["deliverer"])
    return drained.sent


async def sweep_deliveries(ctx: dict[str, Any]) -> int:
    """Retries that came due and batches of a worker that died (lease expired)."""
    return await delivery.wake(ctx["deliverer"])


async def purge_quarantined(ctx: dict[str, Any]) -> int:
    """Subscribers quarantined for 90 days without reactivation (API.md 4.2)."""
    return await quarantine.purge(ctx["db"].sessionmaker, utcnow())


async def incident_scheduler(ctx: dict[str, Any]) -> int:
    """Maintenance reminders and automatic transitions, incident reminders (exactly once even with
    several workers: rows are claimed with SKIP LOCKED and their state re-checked)."""
    infra = scheduler.worker_infrastructure(ctx["settings"], ctx["db"], ctx["redis"])
    try:
        outcome = await scheduler.run_due(infra, utcnow())
    finally:
        await infra.notifier.flush()  # page revisions published, outbox relay enqueued
    return outcome.total


async def fold_metric_rollups(ctx: dict[str, Any]) -> int:
    """Recompute the rollups of the metric buckets ingestion queued (a fold that dies leaves its
    rows queued for the next run, two seconds later)."""
    return await fold_pending(ctx["db"].sessionmaker)


async def purge_metric_points(ctx: dict[str, Any]) -> int:
    """Raw metric points (and short-period rollups) past STATUSPAGE_METRICS_RAW_RETENTION_DAYS."""
    return await purge_expired_points(
        ctx["db"].sessionmaker, ctx["settings"].metrics_raw_retention_days
    )
