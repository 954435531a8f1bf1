"""The public metrics-display document (API.md 5.5), read from the rollups: one indexed range query
of at most 336 rows, however much raw data the metric has, plus the points of the buckets the worker
has not folded yet (app/metrics/store.py)."""

from __future__ import annotations

import math

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFound
from app.metrics import store
from app.metrics.points import Period
from app.metrics.schemas import (
    DisplayedMetric,
    DisplayedMetricData,
    DisplayPeriod,
    DisplayPoint,
    DisplaySummary,
    MetricsDisplay,
    MetricSummary,
)
from app.models import Metric, Page, PageAccessGroup, PageAccessUser

# A metric is public when it is displayed on a page anyone may see: not a team-only page, nor an
# audience-specific one (a page with page access users or groups shows each viewer their share).
_PUBLIC_METRIC = (
    select(Metric)
    .join(Page, Page.id == Metric.page_id)
    .where(
        Page.viewers_must_be_team_members.is_(False),
        Metric.display.is_(True),
        ~exists().where(PageAccessUser.page_id == Page.id),
        ~exists().where(PageAccessGroup.page_id == Page.id),
    )
)


def _rounded(value: float, decimal_places: int) -> float | int:
    return round(value) if decimal_places == 0 else round(value, decimal_places)


def window(period: Period, now: float) -> tuple[int, int]:
    """The first and last bucket of the view: `count` buckets, the last one holding `now`."""
    last = math.floor(now) // period.interval * period.interval
    return last - (period.count - 1) * period.interval, last


async def metrics_display(
    session: AsyncSession, metric_id: str, period: Period, now: float
) -> MetricsDisplay:
    metric = await session.scalar(_PUBLIC_METRIC.where(Metric.id == metric_id))
    if metric is None:
        raise NotFound("The requested resource could not be found.")
    first, last = window(period, now)
    buckets = await store.rollups(session, metric.id, period.interval, first, last)
    means = [total / count for _, total, count, _ in buckets]
    total = math.fsum(means)
    mean = total / len(means) if means else None
    places = metric.decimal_places
    newest = _rounded(buckets[-1][3], places) if buckets else None
    return MetricsDisplay(
        period=DisplayPeriod(
            count=period.count, interval=period.interval, identifier=period.identifier
        ),
        metrics=[
            DisplayedMetricData(
                metric=DisplayedMetric(
                    name=metric.name,
                    metric_identifier=metric.metric_identifier,
                    created_at=metric.created_at,
                    updated_at=metric.updated_at,
                    id=metric.id,
                    metrics_provider_id=metric.metrics_provider_id,
                    metrics_display_id=metric.id,
                    most_recent_data_at=metric.most_recent_data_at,
                    backfilled=metric.backfilled,
                    last_fetched_at=metric.last_fetched_at,
                    backfill_percentage=float(metric.backfill_percentage),
                ),
                summary=MetricSummary(sum=total, mean=mean),
                data=[
                    DisplayPoint(timestamp=bucket, value=_rounded(value, places))
                    for (bucket, _, _, _), value in zip(buckets, means, strict=True)
                ],
            )
        ],
        summary=DisplaySummary(sum=total, mean=mean, last=newest),
    )
