"""Metrics providers, metrics, and their data: raw 30-second points plus rollups per display period.

The data tables carry no foreign key: a per-row referential check would cost more than the insert
itself on the ingestion path. A trigger on `metrics` (migration 0003) deletes a metric's data with
it, however the metric goes (its own DELETE, its provider's or its page's cascade).

A metric's most_recent_data_at is not stored: it is the newest slot of its month-view rollups (kept
for good, unlike raw points) or of its raw points (those the worker has not folded yet), read with
the metric. Storing it would make every ingestion request update the metric's row, and so wait for
every other one writing to the metric.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    func,
    select,
)
from sqlalchemy.orm import Mapped, column_property, declared_attr, mapped_column

from app.models.base import Base, IdMixin, TimestampMixin

PROVIDER_TYPES = ("Pingdom", "NewRelic", "Librato", "Datadog", "Self")
SELF_PROVIDER = "Self"
TRANSFORMS = ("average", "count", "max", "min", "sum")
MONTH_VIEW_SECONDS = 7200  # the coarsest rollups' buckets


class MetricsProvider(IdMixin, TimestampMixin, Base):
    __tablename__ = "metrics_providers"
    __table_args__ = (Index("ix_metrics_providers_page_id_created_at", "page_id", "created_at"),)

    page_id: Mapped[str] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(16))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    metric_base_uri: Mapped[str | None] = mapped_column(String(2048))
    last_revalidated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The provider's credentials, kept for a fetcher (none runs: these machines have no network).
    # Write-only: no response ever includes them.
    email: Mapped[str | None] = mapped_column(String(255))
    password: Mapped[str | None] = mapped_column(String(255))
    api_key: Mapped[str | None] = mapped_column(String(255))
    api_token: Mapped[str | None] = mapped_column(String(255))
    application_key: Mapped[str | None] = mapped_column(String(255))


class MetricPoint(Base):
    """One 30-second slot of one metric; `ts` is the slot's Unix second (a multiple of 30)."""

    __tablename__ = "metric_points"

    metric_id: Mapped[str] = mapped_column(String(12), primary_key=True)
    ts: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    value: Mapped[float] = mapped_column(Double)


# The 2-hour buckets whose rollups are behind their points: appended by ingestion, claimed by the
# worker's fold (app/metrics/rollups.py). No primary key: every index is paid for on ingestion.
metric_rollup_queue = Table(
    "metric_rollup_queue",
    Base.metadata,
    Column("metric_id", String(12), nullable=False),
    Column("bucket", BigInteger, nullable=False),
    Index("ix_metric_rollup_queue_metric_id_bucket", "metric_id", "bucket"),
)


class MetricRollup(Base):
    """The points of one bucket: `period` is the bucket's width in seconds (300, 1800 or 7200, the
    day, week and month views), `bucket` its first Unix second. `last` is the value of the bucket's
    newest point, `last_ts` that point's slot, so a late point for an older slot leaves it alone."""

    __tablename__ = "metric_rollups"

    metric_id: Mapped[str] = mapped_column(String(12), primary_key=True)
    period: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    sum: Mapped[float] = mapped_column(Double)
    count: Mapped[int] = mapped_column(Integer)
    last: Mapped[float] = mapped_column(Double)
    last_ts: Mapped[int] = mapped_column(BigInteger)


class Metric(IdMixin, TimestampMixin, Base):
    __tablename__ = "metrics"
    __table_args__ = (Index("ix_metrics_page_id_created_at", "page_id", "created_at"),)

    page_id: Mapped[str] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"))
    metrics_provider_id: Mapped[str] = mapped_column(
        ForeignKey("metrics_providers.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    metric_identifier: Mapped[str | None] = mapped_column(String(255))
    transform: Mapped[str | None] = mapped_column(String(16))
    application_id: Mapped[str | None] = mapped_column(String(255))
    display: Mapped[bool] = mapped_column(Boolean, default=True)
    tooltip_description: Mapped[str | None] = mapped_column(Text)
    backfilled: Mapped[bool] = mapped_column(Boolean, default=False)
    y_axis_min: Mapped[float | None] = mapped_column(Double)
    y_axis_max: Mapped[float | None] = mapped_column(Double)
    y_axis_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    suffix: Mapped[str | None] = mapped_column(String(255))
    decimal_places: Mapped[int] = mapped_column(Integer, default=0)
    # When a provider was last polled; nothing polls here (no network), pushed data is not fetched.
    last_fetched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    backfill_percentage: Mapped[int] = mapped_column(Integer, default=0)
    reference_name: Mapped[str | None] = mapped_column(String(255))

    @declared_attr
    def most_recent_data_at(cls) -> Mapped[datetime | None]:
        folded = (
            select(MetricRollup.last_ts)
            .where(MetricRollup.metric_id == cls.id, MetricRollup.period == MONTH_VIEW_SECONDS)
            .order_by(MetricRollup.bucket.desc())
            .limit(1)
            .scalar_subquery()
        )
        # One step of an index scan each; greatest() ignores a NULL.
        unfolded = select(func.max(MetricPoint.ts)).where(MetricPoint.metric_id == cls.id)
        newest = func.to_timestamp(
            func.greatest(folded, unfolded.scalar_subquery()), type_=DateTime(timezone=True)
        )
        # Read-only: a flush of the metric leaves it as loaded (a new metric has no data).
        return column_property(newest, expire_on_flush=False)
