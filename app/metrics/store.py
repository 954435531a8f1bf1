"""The data tables' SQL: ingestion, reset, reads for the display, and the retention purge (the
rollups' fold is in app/metrics/rollups.py).

Ingestion is one statement that takes no lock and touches no rollup: it stores the raw points and
appends the (metric, 2-hour bucket) pairs they fall in to metric_rollup_queue, so concurrent requests
wait for each other only on the very slots they both write. The worker folds queued buckets into the
rollups; readers recompute the buckets still queued from their points (`_ROLLUPS`), so what they show
is always exact, folded or not.

Points are deleted only together with the rollups over them (reset, the metrics' delete trigger of
migration 0003, the purge of the short views' rollups), so a fold only ever writes rollups.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import String

from app.metrics.points import QUEUE_BUCKET_SECONDS, ROLLUP_WIDTHS, Batch

METRIC_DATA_LOCK = 727_106  # advisory lock space (first key) of metric data: see rollups.py

# $1 page, $2 its organization, $3 the metric ids named (distinct); $4, $5, $6 the points (metric,
# slot, value) as Batch orders them; $7, $8 the queued (metric, bucket) pairs. The points and the
# queue rows are written only when every metric named is a Self metric of the page; the metrics found
# are answered either way, for the caller to name those that are not.
_INGEST = """
WITH known AS (
    SELECT m.id, p.type
    FROM metrics m
    JOIN pages pg ON pg.id = m.page_id
    JOIN metrics_providers p ON p.id = m.metrics_provider_id
    WHERE m.page_id = $1 AND pg.organization_id = $2 AND m.id = ANY($3::varchar[])
), accepted AS (
    SELECT count(*) = cardinality($3::varchar[]) AND bool_and(type = 'Self') AS ok FROM known
), stored AS (
    INSERT INTO metric_points AS p (metric_id, ts, value)
    SELECT * FROM unnest($4::varchar[], $5::bigint[], $6::double precision[])
    WHERE (SELECT ok FROM accepted)
    {on_conflict}
), queued AS (
    INSERT INTO metric_rollup_queue (metric_id, bucket)
    SELECT * FROM unnest($7::varchar[], $8::bigint[])
    WHERE (SELECT ok FROM accepted)
)
SELECT id, type FROM known
"""
INGEST = _INGEST.format(
    on_conflict="ON CONFLICT (metric_id, ts) DO UPDATE SET value = EXCLUDED.value"
)
# Without the conflict clause: a third cheaper in PostgreSQL when every slot is new, as it nearly
# always is (a slot already stored makes it fail whole, and INGEST runs instead).
INGEST_NEW_SLOTS = _INGEST.format(on_conflict="")

_PAGE_OF_ORGANIZATION = "SELECT EXISTS (SELECT FROM pages WHERE id = $1 AND organization_id = $2)"

_OWN_DATA = text(f"SELECT pg_advisory_xact_lock({METRIC_DATA_LOCK}, hashtext(:metric_id))")

_RESET = text(
    """
    WITH points AS (DELETE FROM metric_points WHERE metric_id = :metric_id)
    DELETE FROM metric_rollups WHERE metric_id = :metric_id
    """
)

# The buckets of `period` seconds from `first` to `last`: from the rollups, except within the queued
# (not yet folded) 2-hour buckets, which are recomputed from their points.
_ROLLUPS = text(
    f"""
    WITH queued AS MATERIALIZED (
        SELECT DISTINCT bucket FROM metric_rollup_queue
        WHERE metric_id = :metric_id AND bucket > :first - {QUEUE_BUCKET_SECONDS} AND bucket <= :last
    )
    SELECT bucket, sum, count, last FROM metric_rollups r
    WHERE r.metric_id = :metric_id AND r.period = :period AND r.bucket >= :first
      AND r.bucket <= :last AND NOT EXISTS (
          SELECT FROM queued q
          WHERE r.bucket >= q.bucket AND r.bucket < q.bucket + {QUEUE_BUCKET_SECONDS}
      )
    UNION ALL
    SELECT p.ts - p.ts % :period, sum(p.value), count(*), (array_agg(p.value ORDER BY p.ts DESC))[1]
    FROM queued q JOIN metric_points p ON p.metric_id = :metric_id AND p.ts >= q.bucket
         AND p.ts < q.bucket + {QUEUE_BUCKET_SECONDS} AND p.ts >= :first
         AND p.ts < :last + :period
    GROUP BY 1
    ORDER BY 1
    """
)

# The newest slot of each metric among its raw points: with the month view's rollups (what the
# model's most_recent_data_at reads, kept for good), the newest point, folded or not.
_NEWEST_POINTS = text(
    """
    SELECT ids.id, (SELECT max(ts) FROM metric_points p WHERE p.metric_id = ids.id)
    FROM unnest(CAST(:ids AS varchar[])) AS ids(id)
    """
).bindparams(bindparam("ids", type_=ARRAY(String)))

# Points of a bucket still queued stay until it is folded (a later purge takes them): its month-view
# rollup is recomputed from them.
_PURGE_POINTS = text(
    f"""
    DELETE FROM metric_points p WHERE p.metric_id = ANY(:ids) AND p.ts < :cutoff
    AND NOT EXISTS (
        SELECT FROM metric_rollup_queue q
        WHERE q.metric_id = p.metric_id AND q.bucket = p.ts - p.ts % {QUEUE_BUCKET_SECONDS}
    )
    """
).bindparams(bindparam("ids", type_=ARRAY(String)))
# The coarsest rollups stay: they are small (12 a day) and are all the history a metric keeps.
_PURGE_ROLLUPS = text(
    "DELETE FROM metric_rollups WHERE metric_id = ANY(:ids) AND period < :keep AND bucket < :cutoff"
).bindparams(bindparam("ids", type_=ARRAY(String)))


def _arguments(page_id: str, organization_id: str, batch: Batch) -> tuple[Any, ...]:
    return (
        page_id,
        organization_id,
        batch.wanted,
        batch.metric_ids,
        batch.slots,
        batch.values,
        batch.queued_ids,
        batch.queued_buckets,
    )


async def ingest(
    session: AsyncSession, page_id: str, organization_id: str, batch: Batch
) -> dict[str, str]:
    """Store the points (a slot's new value replaces the old) and queue their buckets for the fold,
    in the session's transaction, when every metric of the batch is a Self metric of the page;
    answers metric id -> provider type of those found (the caller refuses the request otherwise)."""
    connection = await session.connection()
    result = await connection.exec_driver_sql(INGEST, _arguments(page_id, organization_id, batch))
    rows: list[Any] = list(result)  # (metric id, provider type)
    return {row[0]: row[1] for row in rows}


async def ingest_autocommit(
    connection: asyncpg.Connection, page_id: str, organization_id: str, batch: Batch
) -> dict[str, str]:
    """The same as `ingest`, as one statement committed on its own, on a bare asyncpg connection
    outside any transaction."""
    arguments = _arguments(page_id, organization_id, batch)
    try:
        rows = await connection.fetch(INGEST_NEW_SLOTS, *arguments)
    except asyncpg.UniqueViolationError:
        rows = await connection.fetch(INGEST, *arguments)
    return {row[0]: row[1] for row in rows}


async def page_of_organization(
    connection: asyncpg.Connection, page_id: str, organization_id: str
) -> bool:
    return bool(await connection.fetchval(_PAGE_OF_ORGANIZATION, page_id, organization_id))


async def reset(session: AsyncSession, metric_id: str) -> None:
    """Delete every point and rollup of the metric, once a fold in flight for it is done. Its queued
    buckets stay: folded, they find no points."""
    await session.execute(_OWN_DATA, {"metric_id": metric_id})
    await session.execute(_RESET, {"metric_id": metric_id})


async def rollups(
    session: AsyncSession, metric_id: str, period: int, first: int, last: int
) -> list[tuple[int, float, int, float]]:
    """(bucket, sum, count, last) of the buckets of `period` seconds from `first` to `last`."""
    result = await session.execute(
        _ROLLUPS, {"metric_id": metric_id, "period": period, "first": first, "last": last}
    )
    return [(row[0], row[1], row[2], row[3]) for row in result]


async def newest_points(session: AsyncSession, metric_ids: Sequence[str]) -> dict[str, int]:
    """Metric id -> the slot of its newest raw point, for those that have one."""
    result = await session.execute(_NEWEST_POINTS, {"ids": list(metric_ids)})
    return {row[0]: row[1] for row in result if row[1] is not None}


async def purge(session: AsyncSession, metric_ids: Sequence[str], cutoff: int) -> int:
    """Raw points and fine rollups older than `cutoff` (Unix seconds); answers the points deleted."""
    params = {"ids": list(metric_ids), "cutoff": cutoff}
    deleted = await session.execute(_PURGE_POINTS, params)
    await session.execute(_PURGE_ROLLUPS, {**params, "keep": ROLLUP_WIDTHS[-1]})
    return int(getattr(deleted, "rowcount", 0) or 0)
