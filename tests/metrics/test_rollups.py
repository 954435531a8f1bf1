"""Rollups against hand-computed fixtures, once the worker's fold has run: points in order, out of
order, replaced, after a reset; concurrent requests on the same buckets; the retention purge."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from typing import Any

import httpx
from sqlalchemy import func, select

from app.core.db import Database
from app.metrics.service import purge_cutoff, purge_expired_points
from app.models import MetricPoint, MetricRollup
from tests.conftest import Tenant
from tests.metrics.helpers import aligned_past, create_metric, fold, post_bulk, post_point, queued

Rollups = dict[tuple[int, int], tuple[float, int, float, int]]


async def rollups(db: Database, metric_id: str) -> Rollups:
    """(period, bucket) -> (sum, count, last, last_ts), once the queued buckets are folded."""
    await fold(db)
    async with db.sessionmaker() as session:
        rows = await session.scalars(
            select(MetricRollup).where(MetricRollup.metric_id == metric_id)
        )
        return {(r.period, r.bucket): (r.sum, r.count, r.last, r.last_ts) for r in rows}


def relative(found: Rollups, base: int) -> Rollups:
    return {
        (period, bucket - base): (total, count, last, last_ts - base)
        for (period, bucket), (total, count, last, last_ts) in found.items()
    }


async def test_rollups_by_hand(client: httpx.AsyncClient, tenant: Tenant, db: Database) -> None:
    metric = await create_metric(client, tenant)
    base = aligned_past(7200, 12)  # a 2-hour boundary a day ago: every view's buckets start here

    def at(*pairs: tuple[int, float]) -> list[dict[str, Any]]:
        return [{"timestamp": base + offset, "value": value} for offset, value in pairs]

    first = at((0, 1), (30, 2), (270, 3), (300, 10), (1800, 100), (7200, 1000))
    assert (await post_bulk(client, tenant, {metric["id"]: first})).status_code == 202
    assert relative(await rollups(db, metric["id"]), base) == {
        (300, 0): (6.0, 3, 3.0, 270),
        (300, 300): (10.0, 1, 10.0, 300),
        (300, 1800): (100.0, 1, 100.0, 1800),
        (300, 7200): (1000.0, 1, 1000.0, 7200),
        (1800, 0): (16.0, 4, 10.0, 300),
        (1800, 1800): (100.0, 1, 100.0, 1800),
        (1800, 7200): (1000.0, 1, 1000.0, 7200),
        (7200, 0): (116.0, 5, 100.0, 1800),
        (7200, 7200): (1000.0, 1, 1000.0, 7200),
    }

    # Out of order: an older slot adds to the sums but is not the buckets' last point.
    await post_point(client, tenant, metric["id"], base + 60, 4)
    # A replacement: the slot's old value (2) leaves the sums, its new value (20) enters.
    await post_point(client, tenant, metric["id"], base + 30, 20)
    # A late point, newest of its 30-minute bucket but not of its 2-hour bucket (+1800 is).
    await post_point(client, tenant, metric["id"], base + 1770, 7)
    assert relative(await rollups(db, metric["id"]), base) == {
        (300, 0): (28.0, 4, 3.0, 270),
        (300, 300): (10.0, 1, 10.0, 300),
        (300, 1500): (7.0, 1, 7.0, 1770),
        (300, 1800): (100.0, 1, 100.0, 1800),
        (300, 7200): (1000.0, 1, 1000.0, 7200),
        (1800, 0): (45.0, 6, 7.0, 1770),
        (1800, 1800): (100.0, 1, 100.0, 1800),
        (1800, 7200): (1000.0, 1, 1000.0, 7200),
        (7200, 0): (145.0, 7, 100.0, 1800),
        (7200, 7200): (1000.0, 1, 1000.0, 7200),
    }

    # After a reset nothing of the old data lingers in any bucket.
    reset = await client.delete(
        f"/v1/pages/{tenant.page_id}/metrics/{metric['id']}/data", headers=tenant.auth
    )
    assert reset.status_code == 200
    assert await rollups(db, metric["id"]) == {}
    await post_point(client, tenant, metric["id"], base + 60, 5)
    assert relative(await rollups(db, metric["id"]), base) == {
        (300, 0): (5.0, 1, 5.0, 60),
        (1800, 0): (5.0, 1, 5.0, 60),
        (7200, 0): (5.0, 1, 5.0, 60),
    }


def from_raw(points: list[tuple[int, float]]) -> Rollups:
    """The rollups recomputed from scratch, the slow obvious way."""
    expected: dict[tuple[int, int], list[Any]] = defaultdict(lambda: [0.0, 0, 0.0, -1])
    for ts, value in points:
        for period in (300, 1800, 7200):
            entry = expected[(period, ts - ts % period)]
            entry[0] += value
            entry[1] += 1
            if ts > entry[3]:
                entry[2], entry[3] = value, ts
    return {key: (v[0], v[1], v[2], v[3]) for key, v in expected.items()}


async def test_concurrent_requests_on_the_same_buckets(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    """Eight requests at once into the same buckets of the same two metrics: whatever order they
    land in, the fold recomputes each bucket from every point stored."""
    one = await create_metric(client, tenant, name="One")
    two = await create_metric(client, tenant, name="Two")
    base = aligned_past(7200, 6)

    def batch(client_index: int) -> dict[str, list[dict[str, Any]]]:
        # Client i writes slots i, i+8, i+16, ... of the same 2-hour bucket, in reverse order.
        slots = [base + 30 * (client_index + 8 * k) for k in reversed(range(25))]
        return {
            metric["id"]: [{"timestamp": s, "value": client_index + k} for k, s in enumerate(slots)]
            for metric in (one, two)
        }

    answers = await asyncio.gather(*(post_bulk(client, tenant, batch(i)) for i in range(8)))
    assert [a.status_code for a in answers] == [202] * 8
    for metric in (one, two):
        async with db.sessionmaker() as session:
            raw = await session.execute(
                select(MetricPoint.ts, MetricPoint.value).where(
                    MetricPoint.metric_id == metric["id"]
                )
            )
            points = [(row.ts, row.value) for row in raw]
        assert len(points) == 200
        assert await rollups(db, metric["id"]) == from_raw(points)


async def test_reset_and_delete_racing_ingestion_leave_no_stray_data(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    """A reset among concurrent writes: whatever survives it has its rollups, and nothing more. A
    metric deleted among concurrent writes keeps no data (a write lands before the delete, which
    then takes it; or after, and answers 404; or alongside, and the next fold removes it)."""
    metric = await create_metric(client, tenant)
    doomed = await create_metric(client, tenant, name="Doomed")
    base = aligned_past(7200, 6)

    def batch(metric_id: str, index: int) -> dict[str, list[dict[str, Any]]]:
        return {
            metric_id: [{"timestamp": base + 30 * (index + 8 * k), "value": k} for k in range(20)]
        }

    reset = client.delete(
        f"/v1/pages/{tenant.page_id}/metrics/{metric['id']}/data", headers=tenant.auth
    )
    delete = client.delete(
        f"/v1/pages/{tenant.page_id}/metrics/{doomed['id']}", headers=tenant.auth
    )
    writes = [post_bulk(client, tenant, batch(metric["id"], i)) for i in range(4)]
    doomed_writes = [post_bulk(client, tenant, batch(doomed["id"], i)) for i in range(4)]
    answers = await asyncio.gather(
        *writes[:2], *doomed_writes[:2], reset, delete, *writes[2:], *doomed_writes[2:]
    )
    assert {a.status_code for a in answers} <= {200, 202, 404}
    await fold(db)
    async with db.sessionmaker() as session:
        raw = await session.execute(
            select(MetricPoint.ts, MetricPoint.value).where(MetricPoint.metric_id == metric["id"])
        )
        points = [(row.ts, row.value) for row in raw]
        stray = await session.scalar(
            select(func.count())
            .select_from(MetricPoint)
            .where(MetricPoint.metric_id == doomed["id"])
        )
    assert await rollups(db, metric["id"]) == from_raw(points)
    assert stray == 0 and await rollups(db, doomed["id"]) == {}
    assert await queued(db) == []


async def test_purge_keeps_the_backfill_window_and_the_month_view(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    now = time.time()
    cutoff = purge_cutoff(now, 30)
    assert cutoff % 7200 == 0 and now - 30 * 86_400 - 7200 < cutoff <= now - 30 * 86_400
    # Never below the backfill window (28 days) and a day.
    assert purge_cutoff(now, 1) == purge_cutoff(now, 29)
    ids = [(await create_metric(client, tenant, name=name))["id"] for name in ("A", "B")]
    # Older than any request may write: stored directly, as a year-old installation would hold.
    old, recent = cutoff - 7200, cutoff + 7200
    async with db.sessionmaker() as session, session.begin():
        for metric_id in ids:
            for ts in (old, old + 30, recent):
                session.add(MetricPoint(metric_id=metric_id, ts=ts, value=1.0))
            for period in (300, 1800, 7200):
                for bucket in (old, recent):
                    session.add(
                        MetricRollup(
                            metric_id=metric_id,
                            period=period,
                            bucket=bucket,
                            sum=1.0,
                            count=1,
                            last=1.0,
                            last_ts=bucket,
                        )
                    )
    assert await purge_expired_points(db.sessionmaker, 30, now) == 4
    assert await purge_expired_points(db.sessionmaker, 30, now) == 0  # idempotent
    async with db.sessionmaker() as session:
        points = (await session.execute(select(MetricPoint.metric_id, MetricPoint.ts))).all()
        kept = (await session.execute(select(MetricRollup.period, MetricRollup.bucket))).all()
        total = await session.scalar(select(func.count()).select_from(MetricRollup))
    assert sorted(points) == sorted((metric_id, recent) for metric_id in ids)
    assert total == 8
    assert sorted(set(kept)) == [(300, recent), (1800, recent), (7200, old), (7200, recent)]
