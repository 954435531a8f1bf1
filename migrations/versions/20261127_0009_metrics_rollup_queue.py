"""metric rollups folded by the worker: the queue of buckets whose rollups are behind their points

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Before 0009 the rollups were kept current by each ingestion request; going back, the buckets still
# queued are recomputed from their points (as app/metrics/rollups.py does) so that none stays behind.
_FOLD_QUEUED = """
WITH dirty AS (
    SELECT DISTINCT q.metric_id, q.bucket FROM metric_rollup_queue q
    JOIN metrics m ON m.id = q.metric_id
), fine AS (
    SELECT p.metric_id, p.ts - p.ts % 300 AS bucket, sum(p.value) AS sum, count(*)::int AS count,
           (array_agg(p.value ORDER BY p.ts DESC))[1] AS last, max(p.ts) AS last_ts
    FROM dirty d JOIN metric_points p
      ON p.metric_id = d.metric_id AND p.ts >= d.bucket AND p.ts < d.bucket + 7200
    GROUP BY 1, 2
), fresh AS (
    SELECT metric_id, 300 AS period, bucket, sum, count, last, last_ts FROM fine
    UNION ALL
    SELECT metric_id, w, bucket - bucket % w, sum(sum), sum(count)::int,
           (array_agg(last ORDER BY last_ts DESC))[1], max(last_ts)
    FROM fine, (VALUES (1800), (7200)) AS widths(w)
    GROUP BY 1, 2, 3
)
INSERT INTO metric_rollups AS r (metric_id, period, bucket, sum, count, last, last_ts)
SELECT * FROM fresh
ON CONFLICT (metric_id, period, bucket) DO UPDATE
SET sum = EXCLUDED.sum, count = EXCLUDED.count, last = EXCLUDED.last, last_ts = EXCLUDED.last_ts
"""


def upgrade() -> None:
    # No primary key: rows are only appended (by ingestion) and claimed by ctid (by the worker), and
    # every index is paid for on the ingestion path; this one serves the readers' per-metric lookups.
    op.create_table(
        "metric_rollup_queue",
        sa.Column("metric_id", sa.String(length=12), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
    )
    op.create_index(
        "ix_metric_rollup_queue_metric_id_bucket",
        "metric_rollup_queue",
        ["metric_id", "bucket"],
        unique=False,
    )
    # What a replaced slot held, for the rollups' sums kept by each request: the fold recomputes.
    op.drop_column("metric_points", "previous")


def downgrade() -> None:
    op.add_column("metric_points", sa.Column("previous", sa.Double(), nullable=True))
    op.execute(_FOLD_QUEUED)
    op.drop_index("ix_metric_rollup_queue_metric_id_bucket", table_name="metric_rollup_queue")
    op.drop_table("metric_rollup_queue")
