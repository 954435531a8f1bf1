"""The rollups' fold (app/metrics/rollups.py): readers are exact before it runs, rollups after; a fold
steps around a metric being reset, forgets the points of a deleted metric, and one killed halfway
leaves its buckets queued for the next (a real worker process, killed); the purge and the migration's
downgrade leave no queued bucket behind."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from sqlalchemy import func, select, text

from app.core.db import Database
from app.metrics.service import purge_cutoff, purge_expired_points
from app.metrics.store import METRIC_DATA_LOCK
from app.models import MetricPoint, MetricRollup
from tests.conftest import Servers, Tenant
from tests.metrics.helpers import aligned_past, create_metric, fold, post_bulk, queued
from tests.metrics.test_rollups import from_raw
from tests.processes import burst_worker, start_worker


async def raw_points(db: Database, metric_id: str) -> list[tuple[int, float]]:
    async with db.sessionmaker() as session:
        rows = await session.execute(
            select(MetricPoint.ts, MetricPoint.value).where(MetricPoint.metric_id == metric_id)
        )
        return sorted((row.ts, row.value) for row in rows)


async def stored_rollups(db: Database, metric_id: str) -> dict[tuple[int, int], Any]:
    """The rollups as stored, without folding first."""
    async with db.sessionmaker() as session:
        rows = await session.scalars(
            select(MetricRollup).where(MetricRollup.metric_id == metric_id)
        )
        return {(r.period, r.bucket): (r.sum, r.count, r.last, r.last_ts) for r in rows}


async def displays(client: httpx.AsyncClient, metric_id: str) -> dict[str, Any]:
    return {
        period: (await client.get(f"/metrics-display/{metric_id}/{period}.json")).json()
        for period in ("day", "week", "month")
    }


async def test_readers_are_exact_before_the_fold_and_rollups_after(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    metric = await create_metric(client, tenant, decimal_places=2)
    base = aligned_past(7200, 3)
    first = [(base + 7200, 5.0), (base + 60, 1.0), (base + 30, 2.0), (base, 4.0)]
    data = {metric["id"]: [{"timestamp": ts, "value": value} for ts, value in first]}
    assert (await post_bulk(client, tenant, data)).status_code == 202
    await fold(db)
    # Out of order, a replacement, a new bucket: queued, not folded yet.
    later = [(base + 90, 8.0), (base + 30, 3.0), (base + 1800, 6.0)]
    data = {metric["id"]: [{"timestamp": ts, "value": value} for ts, value in later]}
    assert (await post_bulk(client, tenant, data)).status_code == 202
    assert await queued(db) == [(metric["id"], base)]
    points = await raw_points(db, metric["id"])
    assert await stored_rollups(db, metric["id"]) != from_raw(points)  # behind the points

    before = await displays(client, metric["id"])
    day = before["day"]["metrics"][0]["data"]
    assert day[:2] == [
        {"timestamp": base, "value": 4.0},  # (4 + 3 + 1 + 8) / 4
        {"timestamp": base + 1800, "value": 6.0},
    ]
    assert before["day"]["summary"]["last"] == 5.0

    assert await fold(db) == 1
    assert await queued(db) == []
    assert await stored_rollups(db, metric["id"]) == from_raw(points)
    assert await displays(client, metric["id"]) == before
    assert await fold(db) == 0  # nothing queued: nothing to do


async def test_a_fold_steps_around_a_metric_being_reset(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    """A reset holds the metric's data lock: a fold meanwhile leaves the metric's buckets queued."""
    metric = await create_metric(client, tenant)
    base = aligned_past(7200, 2)
    data = {metric["id"]: [{"timestamp": base + 30 * i, "value": i} for i in range(4)]}
    assert (await post_bulk(client, tenant, data)).status_code == 202
    async with db.sessionmaker() as session, session.begin():
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:space, hashtext(:id))"),
            {"space": METRIC_DATA_LOCK, "id": metric["id"]},
        )
        assert await fold(db) == 1  # claimed, then queued again
        assert await queued(db) == [(metric["id"], base)]
        assert await stored_rollups(db, metric["id"]) == {}
    await fold(db)
    assert await queued(db) == []
    assert await stored_rollups(db, metric["id"]) == from_raw(await raw_points(db, metric["id"]))


async def test_a_fold_forgets_the_points_of_a_deleted_metric(db: Database) -> None:
    """What a write that landed alongside its metric's delete leaves: points and a queued bucket of
    a metric that no longer exists."""
    base = aligned_past(7200, 2)
    async with db.sessionmaker() as session, session.begin():
        session.add(MetricPoint(metric_id="gonegonegone", ts=base, value=1.0))
        await session.execute(
            text("INSERT INTO metric_rollup_queue (metric_id, bucket) VALUES ('gonegonegone', :b)"),
            {"b": base},
        )
    assert await fold(db) == 1
    assert await raw_points(db, "gonegonegone") == []
    assert await stored_rollups(db, "gonegonegone") == {}
    assert await queued(db) == []


async def _until(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, f"{what}: not seen within {seconds} s"
        await asyncio.sleep(0.05)


async def test_a_worker_killed_mid_fold_leaves_the_bucket_for_the_next(
    servers: Servers, client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    metric = await create_metric(client, tenant)
    base = aligned_past(7200, 2)
    data = {metric["id"]: [{"timestamp": base + 30 * i, "value": i} for i in range(6)]}
    assert (await post_bulk(client, tenant, data)).status_code == 202
    await fold(db)
    folded = await stored_rollups(db, metric["id"])
    replaced = {metric["id"]: [{"timestamp": base, "value": 100}]}
    assert (await post_bulk(client, tenant, replaced)).status_code == 202

    # Hold the 5-minute rollup the fold must rewrite: the worker's fold stops there, mid-transaction.
    async with db.sessionmaker() as holder:
        holder_pid = await holder.scalar(text("SELECT pg_backend_pid()"))
        await holder.execute(
            text(
                "SELECT FROM metric_rollups WHERE metric_id = :m AND period = 300 AND bucket = :b "
                "FOR UPDATE"
            ),
            {"m": metric["id"], "b": base},
        )
        worker = await start_worker(servers.env())
        waiting: list[int] = []

        async def fold_waits() -> bool:
            async with db.engine.connect() as connection:
                rows = await connection.exec_driver_sql(
                    "SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
                    (holder_pid,),
                )
                waiting[:] = [row[0] for row in rows]
            return bool(waiting)

        try:
            await _until(fold_waits, "the worker's fold waiting for the row")
            [backend] = waiting
        finally:
            worker.kill()
            await asyncio.wait_for(worker.wait(), 60)
        await holder.rollback()

    async def backend_gone() -> bool:
        async with db.engine.connect() as connection:
            found = await connection.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", (backend,)
            )
            return found.scalar() == 0

    # Its client gone, the backend ends without a commit: the claimed row is queued again.
    await _until(backend_gone, "the killed worker's backend ending")
    assert await queued(db) == [(metric["id"], base)]
    assert await stored_rollups(db, metric["id"]) == folded  # behind the replaced point

    # The worker started again: its fold (a cron job, every 2 seconds) catches up.
    restarted = await start_worker(servers.env())
    try:

        async def folded_again() -> bool:
            return await queued(db) == []

        await _until(folded_again, "the restarted worker's fold")
    finally:
        restarted.terminate()
        assert await asyncio.wait_for(restarted.wait(), 60) == 0  # a clean stop on SIGTERM
    assert await stored_rollups(db, metric["id"]) == from_raw(await raw_points(db, metric["id"]))
    assert (await stored_rollups(db, metric["id"]))[(300, base)][0] == 100 + 1 + 2 + 3 + 4 + 5


async def test_a_burst_worker_folds_what_is_queued(
    servers: Servers, client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    """The fold is one of the worker's cron jobs, run at start-up (and a burst worker ends)."""
    metric = await create_metric(client, tenant)
    base = aligned_past(7200, 30)
    data = {metric["id"]: [{"timestamp": base + 900 * i, "value": i} for i in range(30)]}
    assert (await post_bulk(client, tenant, data)).status_code == 202
    assert len(await queued(db)) == 4
    await burst_worker(servers.env())
    assert await queued(db) == []
    assert await stored_rollups(db, metric["id"]) == from_raw(await raw_points(db, metric["id"]))


async def test_purge_keeps_the_points_of_queued_buckets(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    """A bucket still queued when the purge runs (the worker was down a long while) keeps its points
    until folded: its month-view rollup is recomputed from them."""
    metric = await create_metric(client, tenant)
    now = time.time()
    cutoff = purge_cutoff(now, 30)
    kept, purged = cutoff - 7200, cutoff - 4 * 7200
    async with db.sessionmaker() as session, session.begin():
        for ts in (kept, kept + 30, purged):
            session.add(MetricPoint(metric_id=metric["id"], ts=ts, value=2.0))
        await session.execute(
            text("INSERT INTO metric_rollup_queue (metric_id, bucket) VALUES (:m, :b)"),
            {"m": metric["id"], "b": kept},
        )
    assert await purge_expired_points(db.sessionmaker, 30, now) == 1
    assert await raw_points(db, metric["id"]) == [(kept, 2.0), (kept + 30, 2.0)]
    await fold(db)
    assert (await stored_rollups(db, metric["id"]))[(7200, kept)] == (4.0, 2, 2.0, kept + 30)
    assert await purge_expired_points(db.sessionmaker, 30, now) == 2
    async with db.sessionmaker() as session:
        months = await session.scalar(
            select(func.count()).select_from(MetricRollup).where(MetricRollup.period == 7200)
        )
    assert months == 1  # the month view keeps it
