"""Metrics providers, metrics and their data: the rules, in the caller's transaction; and the
retention purge the worker runs (its other job, the rollups' fold, is app/metrics/rollups.py)."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from app.core.context import Writer
from app.core.errors import MethodNotAllowed, NotFound, Unprocessable
from app.core.pagination import Pagination
from app.core.timefmt import utcnow
from app.metrics import store
from app.metrics.points import BACKFILL_SECONDS, ROLLUP_WIDTHS, Batch
from app.metrics.schemas import MetricFields, ProviderFields
from app.models import Metric, MetricsProvider, Page
from app.models.metric import SELF_PROVIDER
from app.pages.service import bump_revision

# Raw points (and the day and week views' rollups) older than this are purged; the month view's
# rollups are kept for good. To be configured by STATUSPAGE_METRICS_RAW_RETENTION_DAYS; never below
# the backfill window: replacing a slot takes its old value out of the rollups, read from its point.
RAW_RETENTION_DAYS = 30
MIN_RAW_RETENTION_DAYS = BACKFILL_SECONDS // 86_400 + 1
PURGE_BATCH = 100

# Credentials each provider type needs (API.md 2.11); each entry is one acceptable combination.
REQUIRED_CREDENTIALS: dict[str, tuple[tuple[str, ...], ...]] = {
    "Pingdom": (("api_token",), ("application_key", "email", "password")),
    "NewRelic": (("api_key", "metric_base_uri"),),
    "Librato": (("email", "api_token"),),
    "Datadog": (("api_key", "application_key", "metric_base_uri"),),
    "Self": ((),),
}
_CREDENTIALS = ("metric_base_uri", "email", "password", "api_key", "api_token", "application_key")


def _not_found() -> NotFound:
    return NotFound("The requested resource could not be found.")


# Providers -----------------------------------------------------------------------------------


async def list_providers(
    session: AsyncSession, page: Page, pagination: Pagination
) -> Sequence[MetricsProvider]:
    """Unpaginated in Statuspage; page/per_page are honoured when a client sends them."""
    query = (
        select(MetricsProvider)
        .where(MetricsProvider.page_id == page.id)
        .order_by(MetricsProvider.created_at, MetricsProvider.id)
    )
    if pagination.requested:
        query = query.offset(pagination.offset).limit(pagination.per_page)
    return (await session.scalars(query)).all()


async def get_provider(session: AsyncSession, page: Page, provider_id: str) -> MetricsProvider:
    row = await session.scalar(
        select(MetricsProvider).where(
            MetricsProvider.id == provider_id, MetricsProvider.page_id == page.id
        )
    )
    if row is None:
        raise _not_found()
    return row


def _check_credentials(row: MetricsProvider) -> None:
    options = REQUIRED_CREDENTIALS[row.type]
    if any(all(getattr(row, name) for name in option) for option in options):
        return
    wanted = " or ".join("+".join(option) for option in options)
    raise Unprocessable(f"metrics_provider: a {row.type} provider needs {wanted}")


async def create_provider(writer: Writer, page: Page, fields: ProviderFields) -> MetricsProvider:
    assert fields.type is not None
    row = MetricsProvider(page_id=page.id, type=fields.type, disabled=False)
    for name in _CREDENTIALS:
        setattr(row, name, getattr(fields, name))
    _check_credentials(row)
    writer.session.add(row)
    await writer.session.flush()
    return row


async def update_provider(
    writer: Writer, row: MetricsProvider, fields: ProviderFields
) -> MetricsProvider:
    changes = fields.model_dump(exclude_unset=True)
    if "type" in changes and changes["type"] is None:
        raise Unprocessable("metrics_provider.type may not be null")
    for name, value in changes.items():
        setattr(row, name, value)
    _check_credentials(row)
    if changes:
        row.updated_at = utcnow()
    await writer.session.flush()
    return row


async def delete_provider(writer: Writer, page: Page, row: MetricsProvider) -> None:
    """Its metrics go with it (and their data, by the metrics' delete trigger)."""
    await writer.session.delete(row)
    await bump_revision(writer.session, writer.work, writer.infra.notifier, page)


# Metrics -------------------------------------------------------------------------------------


async def list_metrics(
    session: AsyncSession,
    page: Page,
    pagination: Pagination,
    provider: MetricsProvider | None = None,
) -> Sequence[Metric]:
    query = select(Metric).where(Metric.page_id == page.id).order_by(Metric.created_at, Metric.id)
    if provider is not None:
        query = query.where(Metric.metrics_provider_id == provider.id)
    query = query.offset(pagination.offset).limit(pagination.per_page)
    return list((await session.scalars(query)).all())


_METRIC_ON_PAGE = (
    select(Metric, MetricsProvider.type)
    .join(MetricsProvider, MetricsProvider.id == Metric.metrics_provider_id)
    .where(Metric.id == bindparam("metric_id"), Metric.page_id == bindparam("page_id"))
)
_METRIC_ON_PAGE_FOR_UPDATE = _METRIC_ON_PAGE.with_for_update(of=Metric, key_share=True)


async def get_metric(
    session: AsyncSession, page: Page, metric_id: str, *, for_update: bool = False
) -> tuple[Metric, str]:
    """The metric and its provider's type; for a change, the metric row locked (FOR NO KEY UPDATE)."""
    statement = _METRIC_ON_PAGE_FOR_UPDATE if for_update else _METRIC_ON_PAGE
    row = (await session.execute(statement, {"metric_id": metric_id, "page_id": page.id})).first()
    if row is None:
        raise _not_found()
    return row[0], row[1]


def _check_metric(metric: Metric, provider_type: str) -> None:
    low, high = metric.y_axis_min, metric.y_axis_max
    if low is not None and high is not None and low > high:
        raise Unprocessable("metric.y_axis_min: must not exceed metric.y_axis_max")
    if provider_type != SELF_PROVIDER and not metric.metric_identifier:
        raise Unprocessable(
            f"metric.metric_identifier: required for a metric of a {provider_type} provider"
        )
    if provider_type == "NewRelic" and not metric.application_id:
        raise Unprocessable("metric.application_id: required for a metric of a NewRelic provider")


async def create_metric(
    writer: Writer, page: Page, provider: MetricsProvider, fields: MetricFields
) -> Metric:
    values = fields.model_dump(exclude_unset=True)
    pushed = provider.type == SELF_PROVIDER
    metric = Metric(
        page_id=page.id,
        metrics_provider_id=provider.id,
        name=fields.name,
        metric_identifier=fields.metric_identifier,
        transform=fields.transform or (None if pushed else "average"),
        application_id=fields.application_id,
        display=values.get("display", True),
        tooltip_description=fields.tooltip_description,
        # Pushed metrics have no history to import; others never fetch here (no network).
        backfilled=pushed,
        backfill_percentage=1 if pushed else 0,
        y_axis_min=fields.y_axis_min,
        y_axis_max=fields.y_axis_max,
        y_axis_hidden=values.get("y_axis_hidden", False),
        suffix=fields.suffix,
        decimal_places=values.get("decimal_places", 0),
    )
    _check_metric(metric, provider.type)
    writer.session.add(metric)
    await writer.session.flush()
    set_committed_value(metric, "most_recent_data_at", None)
    await bump_revision(writer.session, writer.work, writer.infra.notifier, page)
    return metric


async def update_metric(
    writer: Writer, page: Page, metric: Metric, provider_type: str, fields: MetricFields
) -> Metric:
    changes = fields.model_dump(exclude_unset=True)
    for name, value in changes.items():
        setattr(metric, name, value)
    _check_metric(metric, provider_type)
    if changes:
        metric.updated_at = utcnow()
        await bump_revision(writer.session, writer.work, writer.infra.notifier, page)
    return metric


async def delete_metric(writer: Writer, page: Page, metric: Metric) -> None:
    """Its points and rollups go with it (the metrics' delete trigger)."""
    await writer.session.delete(metric)
    await bump_revision(writer.session, writer.work, writer.infra.notifier, page)


async def reset_data(writer: Writer, page: Page, metric: Metric) -> Metric:
    """Forget every point and rollup of the metric."""
    await store.reset(writer.session, metric.id)
    set_committed_value(metric, "most_recent_data_at", None)
    metric.updated_at = utcnow()
    await bump_revision(writer.session, writer.work, writer.infra.notifier, page)
    return metric


# Data ----------------------------------------------------------------------------------------
# Data points do not bump the page revision: a bump updates the page row, which would make every
# ingestion request of a page wait for the one before it. The metrics display reads the rollups,
# and the points of buckets not folded yet, directly (a snapshot of it would be keyed by the
# metric's newest point, or live a few seconds).


def refuse_pulled(metric_id: str, provider_type: str, where: str, *, single: bool = False) -> None:
    """405 for a metric fed by its provider. For one metric's data route, only DELETE (reset) is
    allowed then, which the Allow header says."""
    if provider_type != SELF_PROVIDER:
        raise MethodNotAllowed(
            f"{where}: metric {metric_id} takes its data from its {provider_type} provider; "
            "only metrics of a Self provider accept data",
            headers={"Allow": "DELETE"} if single else None,
        )


def refuse_missing(metric_ids: Iterable[str], found: Mapping[str, str]) -> None:
    """404 for the first metric named that is not on the page, else 405 for the first that takes
    its data from another provider (`found`: metric id -> provider type of those on the page)."""
    for metric_id in metric_ids:
        if metric_id not in found:
            raise NotFound(f"data.{metric_id}: no metric {metric_id} on this page")
        refuse_pulled(metric_id, found[metric_id], f"data.{metric_id}")


async def add_points(
    writer: Writer, page: Page, checked: Mapping[str, Sequence[tuple[int, float]]]
) -> None:
    """Points for metrics of the page, all or nothing: an unknown metric is a 404, one fed by
    another provider a 405 (the statement then stores nothing)."""
    found = await store.ingest(writer.session, page.id, page.organization_id, Batch.of(checked))
    refuse_missing(checked, found)


# Retention (a worker job) --------------------------------------------------------------------


def purge_cutoff(now: float, retention_days: int) -> int:
    """The first Unix second kept: `retention_days` ago (at least the backfill window and a day),
    rounded down to a month-view bucket, so that buckets go whole."""
    days = max(retention_days, MIN_RAW_RETENTION_DAYS)
    coarsest = ROLLUP_WIDTHS[-1]
    return math.floor(now - days * 86_400) // coarsest * coarsest


async def purge_expired_points(
    sessionmaker: async_sessionmaker[AsyncSession],
    retention_days: int = RAW_RETENTION_DAYS,
    now: float | None = None,
) -> int:
    """Delete raw points and the day and week views' rollups older than the retention, a batch of
    metrics per transaction; answers the number of points deleted. Safe to run at any time, and
    twice: ingestion never writes before the backfill window, which the cutoff never reaches."""
    cutoff = purge_cutoff(time.time() if now is None else now, retention_days)
    async with sessionmaker() as session:
        metric_ids = list((await session.scalars(select(Metric.id).order_by(Metric.id))).all())
    deleted = 0
    for start in range(0, len(metric_ids), PURGE_BATCH):
        async with sessionmaker() as session, session.begin():
            deleted += await store.purge(session, metric_ids[start : start + PURGE_BATCH], cutoff)
    return deleted
