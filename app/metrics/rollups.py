"""The rollups' fold (a worker job): recompute the rollups of the queued buckets from their points.

Ingestion queues the 2-hour buckets it wrote points into (app/metrics/store.py); a fold claims queued
rows, recomputes every rollup of those buckets (day, week and month views: 300, 1800 and 7200 seconds,
which all nest in the 2-hour bucket) from the raw points, and deletes the rows it claimed, in one
transaction. Recomputing rather than adding makes a fold exact whatever came before it: points out
of order, replaced slots, a reset, a fold run twice. A fold that dies before its commit leaves its
rows queued for the next one (a cron job runs every 2 seconds), and readers recompute queued buckets
themselves in the meantime, so nothing acknowledged is ever missing from what they show.

A fold holds the metric's data lock (METRIC_DATA_LOCK, hashtext(metric id)) exclusively, as reset and
the metrics' delete trigger do: no reset can delete points and rollups between the fold's reading of
the points and its commit. It only tries the lock: the rows of a metric busy elsewhere go back to
the queue, for the next fold, so a fold never waits and never deadlocks with anyone.
"""

from __future__ import annotations

import time

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.types import BigInteger, String

from app.metrics.points import QUEUE_BUCKET_SECONDS
from app.metrics.store import METRIC_DATA_LOCK

# Queue rows per transaction: enough to share each transaction's cost, few enough for the sorts to
# stay in memory (work_mem).
FOLD_BATCH = 5_000
# A fold job hands over to the next one (2 seconds later) past this.
FOLD_BUDGET_SECONDS = 20.0

_CLAIM = text(
    """
    DELETE FROM metric_rollup_queue WHERE ctid = ANY(ARRAY(
        SELECT ctid FROM metric_rollup_queue LIMIT :limit FOR UPDATE SKIP LOCKED
    ))
    RETURNING metric_id, bucket
    """
)

# The metrics among :ids whose data lock this transaction got.
_LOCK = text(
    f"""
    SELECT id FROM unnest(CAST(:ids AS varchar[])) AS ids(id)
    WHERE pg_try_advisory_xact_lock({METRIC_DATA_LOCK}, hashtext(id))
    """
).bindparams(bindparam("ids", type_=ARRAY(String)))
# Read once the locks are held (a statement of its own: its snapshot must follow them).
_EXISTING = text("SELECT id FROM metrics WHERE id = ANY(CAST(:ids AS varchar[]))").bindparams(
    bindparam("ids", type_=ARRAY(String))
)

_REQUEUE = text(
    """
    INSERT INTO metric_rollup_queue (metric_id, bucket)
    SELECT * FROM unnest(CAST(:ids AS varchar[]), CAST(:buckets AS bigint[]))
    """
).bindparams(bindparam("ids", type_=ARRAY(String)), bindparam("buckets", type_=ARRAY(BigInteger)))

# Points written while their metric was being deleted (ingestion takes no lock: the delete trigger
# may have run before they landed). Their metric is gone for good (ids are never reused).
_FORGET = text(
    """
    WITH points AS (DELETE FROM metric_points WHERE metric_id = ANY(CAST(:ids AS varchar[]))),
         queued AS (DELETE FROM metric_rollup_queue WHERE metric_id = ANY(CAST(:ids AS varchar[])))
    DELETE FROM metric_rollups WHERE metric_id = ANY(CAST(:ids AS varchar[]))
    """
).bindparams(bindparam("ids", type_=ARRAY(String)))

# Every rollup of the (metric, bucket) pairs, recomputed: the 5-minute buckets from the points, the
# 30-minute and 2-hour ones from those. A rollup that would not change is left alone.
_FOLD = text(
    f"""
    WITH fresh AS (
        SELECT d.metric_id, f.*
        FROM unnest(CAST(:ids AS varchar[]), CAST(:buckets AS bigint[])) AS d(metric_id, bucket)
        CROSS JOIN LATERAL (
            WITH fine AS (
                SELECT p.ts - p.ts % 300 AS bucket, sum(p.value) AS sum, count(*)::int AS count,
                       (array_agg(p.value ORDER BY p.ts DESC))[1] AS last, max(p.ts) AS last_ts
                FROM metric_points p
                WHERE p.metric_id = d.metric_id AND p.ts >= d.bucket
                  AND p.ts < d.bucket + {QUEUE_BUCKET_SECONDS}
                GROUP BY 1
            )
            SELECT 300 AS period, bucket, sum, count, last, last_ts FROM fine
            UNION ALL
            SELECT 1800, bucket - bucket % 1800, sum(sum), sum(count)::int,
                   (array_agg(last ORDER BY last_ts DESC))[1], max(last_ts)
            FROM fine GROUP BY 2
            UNION ALL
            SELECT 7200, d.bucket, sum(sum), sum(count)::int,
                   (array_agg(last ORDER BY last_ts DESC))[1], max(last_ts)
            FROM fine HAVING count(*) > 0
        ) f
    )
    INSERT INTO metric_rollups AS r (metric_id, period, bucket, sum, count, last, last_ts)
    SELECT * FROM fresh ORDER BY 1, 2, 3
    ON CONFLICT (metric_id, period, bucket) DO UPDATE
    SET sum = EXCLUDED.sum, count = EXCLUDED.count, last = EXCLUDED.last, last_ts = EXCLUDED.last_ts
    WHERE (r.sum, r.count, r.last, r.last_ts)
          IS DISTINCT FROM (EXCLUDED.sum, EXCLUDED.count, EXCLUDED.last, EXCLUDED.last_ts)
    """
).bindparams(bindparam("ids", type_=ARRAY(String)), bindparam("buckets", type_=ARRAY(BigInteger)))

assert QUEUE_BUCKET_SECONDS == 7200  # the widths written out in _FOLD


async def fold_batch(session: AsyncSession, limit: int = FOLD_BATCH) -> int:
    """Claim up to `limit` queue rows and fold their buckets, in the session's transaction (the
    caller commits); answers the rows claimed (0: the queue is empty, or busy elsewhere)."""
    claimed = (await session.execute(_CLAIM, {"limit": limit})).all()
    if not claimed:
        return 0
    pairs = sorted({(row[0], row[1]) for row in claimed})
    metric_ids = sorted({metric_id for metric_id, _ in pairs})
    locked = set((await session.scalars(_LOCK, {"ids": metric_ids})).all())
    busy = [(metric_id, bucket) for metric_id, bucket in pairs if metric_id not in locked]
    if busy:
        await session.execute(
            _REQUEUE, {"ids": [m for m, _ in busy], "buckets": [b for _, b in busy]}
        )
    existing = set((await session.scalars(_EXISTING, {"ids": sorted(locked)})).all())
    if gone := sorted(locked - existing):
        await session.execute(_FORGET, {"ids": gone})
    folded = [(metric_id, bucket) for metric_id, bucket in pairs if metric_id in existing]
    if folded:
        await session.execute(
            _FOLD, {"ids": [m for m, _ in folded], "buckets": [b for _, b in folded]}
        )
    return len(claimed)


async def fold_pending(
    sessionmaker: async_sessionmaker[AsyncSession],
    budget_seconds: float = FOLD_BUDGET_SECONDS,
    batch: int = FOLD_BATCH,
) -> int:
    """Fold queued buckets, a transaction per batch, until the queue is empty (or only holds rows
    another fold has claimed) or the budget is spent; answers the queue rows folded."""
    deadline = time.monotonic() + budget_seconds
    total = 0
    while True:
        async with sessionmaker() as session, session.begin():
            claimed = await fold_batch(session, batch)
        total += claimed
        if claimed < batch or time.monotonic() >= deadline:
            return total
