"""Failing subscribers: 10 failed requests within about an hour quarantine a webhook (Slack, Teams)
subscriber and its contact address is told; a dead email address or phone number quarantines at
once; 90 days in quarantine without reactivation and the subscriber is purged (API.md 4.2)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.timefmt import format_timestamp
from app.models import OutboxEvent
from app.notifications.fanout import SUBSCRIBER_QUARANTINED

QUARANTINE_FAILURES = 10
QUARANTINE_WINDOW = timedelta(hours=1)
PURGE_AFTER = timedelta(days=90)
PURGE_BATCH = 1000

_COUNT_FAILURES = text(
    """
    WITH f AS (
        SELECT * FROM unnest(CAST(:ids AS varchar[]), CAST(:counts AS int[])) AS f(id, n)
    )
    UPDATE subscribers s
    SET failure_count = CASE
            WHEN s.failure_window_started_at IS NULL OR s.failure_window_started_at <= :window_start
            THEN f.n ELSE s.failure_count + f.n END,
        failure_window_started_at = CASE
            WHEN s.failure_window_started_at IS NULL OR s.failure_window_started_at <= :window_start
            THEN :now ELSE s.failure_window_started_at END
    FROM f WHERE s.id = f.id AND s.state = 'active'
    RETURNING s.id, s.failure_count
    """
)
_QUARANTINE = text(
    """
    UPDATE subscribers
    SET state = 'quarantined', quarantined_at = :now, purge_at = :purge_at, updated_at = :now
    WHERE id = ANY(CAST(:ids AS varchar[])) AND state = 'active'
    RETURNING id, page_id, mode, email, failure_count
    """
)
_RESET = text(
    """
    UPDATE subscribers SET failure_count = 0, failure_window_started_at = NULL
    WHERE id = ANY(CAST(:ids AS varchar[])) AND failure_count > 0
    """
)
_PURGE = text(
    """
    UPDATE subscribers
    SET state = 'unsubscribed', unsubscribed_at = :now, purge_at = NULL, updated_at = :now
    WHERE id IN (
        SELECT id FROM subscribers
        WHERE state = 'quarantined' AND purge_at <= :now
        ORDER BY purge_at LIMIT :limit FOR UPDATE SKIP LOCKED
    )
    RETURNING id
    """
)


async def account(
    session: AsyncSession,
    now: datetime,
    *,
    failures: Counter[str],
    last_errors: dict[str, str],
    dead: set[str],
    succeeded: set[str],
) -> int:
    """Count failures in the subscribers' windows, quarantine who crossed the line (with an
    outbox event for the notice), reset the count of who answered; answers how many were
    quarantined. Runs in the transaction that records the outcomes."""
    if succeeded:
        await session.execute(_RESET, {"ids": sorted(succeeded - failures.keys())})
    to_quarantine = set(dead)
    if failures:
        ids = sorted(failures)
        rows = await session.execute(
            _COUNT_FAILURES,
            {
                "ids": ids,
                "counts": [failures[i] for i in ids],
                "now": now,
                "window_start": now - QUARANTINE_WINDOW,
            },
        )
        to_quarantine.update(row.id for row in rows if row.failure_count >= QUARANTINE_FAILURES)
    if not to_quarantine:
        return 0
    purge_at = now + PURGE_AFTER
    rows = await session.execute(
        _QUARANTINE, {"ids": sorted(to_quarantine), "now": now, "purge_at": purge_at}
    )
    quarantined = 0
    for row in rows:
        quarantined += 1
        if row.id in dead or not row.email:
            continue  # nobody to tell: the address is the dead part, or there is none
        session.add(
            OutboxEvent(
                kind=SUBSCRIBER_QUARANTINED,
                page_id=row.page_id,
                attempts=0,
                payload={
                    "subscriber_id": row.id,
                    "failures": row.failure_count,
                    "last_error": last_errors.get(row.id),
                    "purge_at": format_timestamp(purge_at),
                },
            )
        )
    return quarantined


async def purge(sessionmaker: async_sessionmaker[AsyncSession], now: datetime) -> int:
    """Quarantined subscribers past `purge_at` become unsubscribed (their history stays
    readable; they may subscribe again); answers how many."""
    purged = 0
    while True:
        async with sessionmaker() as session, session.begin():
            rows = (await session.execute(_PURGE, {"now": now, "limit": PURGE_BATCH})).all()
        purged += len(rows)
        if len(rows) < PURGE_BATCH:
            return purged
