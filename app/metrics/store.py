"""The data tables' SQL: ingestion with its rollups in one statement, reset, reads for the display,
and the retention purge.

Rollups are kept by increments that commute, so concurrent requests never wait for each other except
on the very rollup rows they both change (from that upsert to their COMMIT): a new slot adds its value
and 1 to its buckets' sum and count; a replaced slot adds (new - old), the old value coming back from
the point's own upsert (`previous`, set from the row as locked, so two requests replacing one slot
see each other's value); a bucket's `last` is the value of its newest slot (`last_ts`). Rows are
locked in key order (points, then rollups), so concurrent requests cannot deadlock.

Reset and delete must not interleave with ingestion (a point written under a reset would survive it
without its rollups): ingestion holds a shared advisory lock per metric, reset and the metrics' delete
trigger an exclusive one (the key is METRIC_DATA_LOCK and hashtext(metric id); see migration 0003).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import BigInteger, Double, String

from app.metrics.points import ROLLUP_WIDTHS, Rows

METRIC_DATA_LOCK = 727_106  # advisory lock space (first key) of metric data

_WIDTHS = ", ".join(f"({width})" for width in ROLLUP_WIDTHS)

# The points, the rollups of every bucket they fall in, only for metrics of this page; answers the
# metrics found with their provider's type (the caller refuses the request, and so rolls all of it
# back, when one is missing or not a Self metric).
INGEST = text(
    f"""
    WITH input AS (
        SELECT * FROM unnest(
            CAST(:metric_ids AS varchar[]), CAST(:slots AS bigint[]),
            CAST(:point_values AS double precision[])
        ) AS i(metric_id, ts, value)
    ), known AS (
        SELECT m.id, p.type
        FROM metrics m JOIN metrics_providers p ON p.id = m.metrics_provider_id
        WHERE m.page_id = :page_id AND m.id = ANY(CAST(:wanted AS varchar[]))
    ), stored AS (
        INSERT INTO metric_points AS p (metric_id, ts, value)
        SELECT i.metric_id, i.ts, i.value
        FROM input i JOIN known k ON k.id = i.metric_id AND k.type = 'Self'
        ORDER BY i.metric_id, i.ts
        ON CONFLICT (metric_id, ts) DO UPDATE SET value = EXCLUDED.value, previous = p.value
        RETURNING p.metric_id, p.ts, p.value, p.previous
    ), rolled AS (
        INSERT INTO metric_rollups AS r (metric_id, period, bucket, sum, count, last, last_ts)
        SELECT metric_id, width, ts - ts % width, sum(value - coalesce(previous, 0)),
               count(*) FILTER (WHERE previous IS NULL),
               (array_agg(value ORDER BY ts DESC))[1], max(ts)
        FROM stored, (VALUES {_WIDTHS}) AS widths(width)
        GROUP BY 1, 2, 3
        ORDER BY 1, 2, 3
        ON CONFLICT (metric_id, period, bucket) DO UPDATE
        SET sum = r.sum + EXCLUDED.sum, count = r.count + EXCLUDED.count,
            last = CASE WHEN EXCLUDED.last_ts >= r.last_ts THEN EXCLUDED.last ELSE r.last END,
            last_ts = greatest(r.last_ts, EXCLUDED.last_ts)
    )
    SELECT id, type FROM known
    """
).bindparams(
    bindparam("metric_ids", type_=ARRAY(String)),
    bindparam("slots", type_=ARRAY(BigInteger)),
    bindparam("point_values", type_=ARRAY(Double)),
    bindparam("wanted", type_=ARRAY(String)),
)

# Taken in a statement of their own: the ingestion statement's snapshot must follow the wait.
_SHARE_DATA = text(
    f"""
    SELECT pg_advisory_xact_lock_shared({METRIC_DATA_LOCK}, hashtext(id))
    FROM unnest(CAST(:ids AS varchar[])) AS ids(id) ORDER BY id
    """
).bindparams(bindparam("ids", type_=ARRAY(String)))
_OWN_DATA = text(f"SELECT pg_advisory_xact_lock({METRIC_DATA_LOCK}, hashtext(:metric_id))")

_RESET = text(
    """
    WITH points AS (DELETE FROM metric_points WHERE metric_id = :metric_id)
    DELETE FROM metric_rollups WHERE metric_id = :metric_id
    """
)

_ROLLUPS = text(
    """
    SELECT bucket, sum, count, last FROM metric_rollups
    WHERE metric_id = :metric_id AND period = :period AND bucket >= :first AND bucket <= :last
    ORDER BY bucket
    """
)

_PURGE_POINTS = text(
    "DELETE FROM metric_points WHERE metric_id = ANY(:ids) AND ts < :cutoff"
).bindparams(bindparam("ids", type_=ARRAY(String)))
# The coarsest rollups stay: they are small (12 a day) and are all the history a metric keeps.
_PURGE_ROLLUPS = text(
    "DELETE FROM metric_rollups WHERE metric_id = ANY(:ids) AND period < :keep AND bucket < :cutoff"
).bindparams(bindparam("ids", type_=ARRAY(String)))


async def ingest(
    session: AsyncSession, page_id: str, metric_ids: Sequence[str], rows: Rows
) -> dict[str, str]:
    """Store the points (a slot's new value replaces the old) and fold them into the rollups, for
    the metrics of the page among `metric_ids`; answers metric id -> provider type of those found.
    Nothing is stored for the others (nor for non-Self metrics): the caller must then refuse the
    request."""
    wanted = sorted(set(metric_ids))
    await session.execute(_SHARE_DATA, {"ids": wanted})
    result = await session.execute(
        INGEST,
        {
            "page_id": page_id,
            "wanted": wanted,
            "metric_ids": rows.metric_ids,
            "slots": rows.slots,
            "point_values": rows.values,
        },
    )
    return {row[0]: row[1] for row in result}


async def reset(session: AsyncSession, metric_id: str) -> None:
    """Delete every point and rollup of the metric, once ingestion in flight for it is done."""
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


async def purge(session: AsyncSession, metric_ids: Sequence[str], cutoff: int) -> int:
    """Raw points and fine rollups older than `cutoff` (Unix seconds); answers the points deleted."""
    params = {"ids": list(metric_ids), "cutoff": cutoff}
    deleted = await session.execute(_PURGE_POINTS, params)
    await session.execute(_PURGE_ROLLUPS, {**params, "keep": ROLLUP_WIDTHS[-1]})
    return int(getattr(deleted, "rowcount", 0) or 0)
