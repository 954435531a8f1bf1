"""/v1/pages/{page_id}/metrics_providers and /metrics: providers, metrics and their data."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import Enum
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Path, Request
from starlette.responses import Response

from app.core.deps import PageDep, SessionDep, WriterDep, session_of
from app.core.pagination import PaginationDep
from app.core.responses import READ_ERRORS, WRITE_ERRORS, error_responses, json_response
from app.core.routing import ApiRoute, add_update_routes
from app.metrics import service
from app.metrics.points import check_batches, check_point
from app.metrics.schemas import (
    BulkDataRequest,
    DataPoint,
    Metric,
    MetricCreateRequest,
    MetricsProvider,
    MetricUpdateRequest,
    ProviderCreateRequest,
    ProviderUpdateRequest,
    SingleDataRequest,
    SingleMetricAddResponse,
)
from app.models import Metric as MetricRow
from app.models import MetricsProvider as ProviderRow

router = APIRouter(prefix="/v1/pages/{page_id}", route_class=ApiRoute)
PROVIDERS: list[str | Enum] = ["metric providers"]
METRICS: list[str | Enum] = ["metrics"]
BOTH: list[str | Enum] = ["metrics", "metric providers"]
DATA_ERRORS = (*WRITE_ERRORS, 405)
CHANGES = frozenset({"PATCH", "PUT", "DELETE"})


async def get_provider(
    metrics_provider_id: Annotated[str, Path(description="Metric Provider Identifier")],
    page: PageDep,
    session: SessionDep,
) -> ProviderRow:
    return await service.get_provider(session, page, metrics_provider_id)


ProviderDep = Annotated[ProviderRow, Depends(get_provider)]


@dataclass(frozen=True)
class Target:
    metric: MetricRow
    provider_type: str


async def get_target(
    metric_id: Annotated[str, Path(description="Metric Identifier")],
    page: PageDep,
    request: Request,
) -> Target:
    """The metric of the page; a change to it locks its row (posting data does not)."""
    found = await service.get_metric(
        session_of(request), page, metric_id, for_update=request.method in CHANGES
    )
    return Target(*found)


TargetDep = Annotated[Target, Depends(get_target)]


# Providers -----------------------------------------------------------------------------------


@router.get(
    "/metrics_providers",
    response_model=list[MetricsProvider],
    tags=PROVIDERS,
    summary="Get a list of metric providers",
    operation_id="getPagesPageIdMetricsProviders",
    responses=error_responses(*READ_ERRORS),
)
async def list_providers(page: PageDep, session: SessionDep, pagination: PaginationDep) -> Response:
    rows = await service.list_providers(session, page, pagination)
    return json_response([MetricsProvider.of(row) for row in rows])


@router.post(
    "/metrics_providers",
    response_model=MetricsProvider,
    status_code=201,
    tags=PROVIDERS,
    summary="Create a metric provider",
    operation_id="postPagesPageIdMetricsProviders",
    responses=error_responses(*WRITE_ERRORS),
)
async def create_provider(
    body: ProviderCreateRequest, page: PageDep, writer: WriterDep
) -> Response:
    row = await service.create_provider(writer, page, body.metrics_provider)
    return json_response(MetricsProvider.of(row), status_code=201)


@router.get(
    "/metrics_providers/{metrics_provider_id}",
    response_model=MetricsProvider,
    tags=PROVIDERS,
    summary="Get a metric provider",
    operation_id="getPagesPageIdMetricsProvidersMetricsProviderId",
    responses=error_responses(*READ_ERRORS),
)
async def get_provider_route(provider: ProviderDep) -> Response:
    return json_response(MetricsProvider.of(provider))


async def _update_provider(
    body: ProviderUpdateRequest, provider: ProviderDep, writer: WriterDep
) -> Response:
    row = await service.update_provider(writer, provider, body.metrics_provider)
    return json_response(MetricsProvider.of(row))


add_update_routes(
    router,
    "/metrics_providers/{metrics_provider_id}",
    _update_provider,
    operation_id="PagesPageIdMetricsProvidersMetricsProviderId",
    response_model=MetricsProvider,
    tags=PROVIDERS,
    summary="Update a metric provider",
    description="Takes the create fields too (credentials included); PUT behaves like PATCH.",
)


@router.delete(
    "/metrics_providers/{metrics_provider_id}",
    response_model=MetricsProvider,
    tags=PROVIDERS,
    summary="Delete a metric provider",
    description="Deletes its metrics and their data too; answers with the deleted provider.",
    operation_id="deletePagesPageIdMetricsProvidersMetricsProviderId",
    responses=error_responses(*WRITE_ERRORS),
)
async def delete_provider(page: PageDep, provider: ProviderDep, writer: WriterDep) -> Response:
    snapshot = MetricsProvider.of(provider)
    await service.delete_provider(writer, page, provider)
    return json_response(snapshot)


@router.get(
    "/metrics_providers/{metrics_provider_id}/metrics",
    response_model=list[Metric],
    tags=BOTH,
    summary="List metrics for a metric provider",
    operation_id="getPagesPageIdMetricsProvidersMetricsProviderIdMetrics",
    responses=error_responses(*READ_ERRORS),
)
async def list_provider_metrics(
    page: PageDep, provider: ProviderDep, session: SessionDep, pagination: PaginationDep
) -> Response:
    rows = await service.list_metrics(session, page, pagination, provider)
    return json_response([Metric.of(row) for row in rows])


@router.post(
    "/metrics_providers/{metrics_provider_id}/metrics",
    response_model=Metric,
    status_code=201,
    tags=BOTH,
    summary="Create a metric for a metric provider",
    operation_id="postPagesPageIdMetricsProvidersMetricsProviderIdMetrics",
    responses=error_responses(*WRITE_ERRORS),
)
async def create_metric(
    body: MetricCreateRequest, page: PageDep, provider: ProviderDep, writer: WriterDep
) -> Response:
    row = await service.create_metric(writer, page, provider, body.metric)
    return json_response(Metric.of(row), status_code=201)


# Data for many metrics (before /metrics/{metric_id}) ------------------------------------------


async def add_points(body: BulkDataRequest, page: PageDep, writer: WriterDep) -> Response:
    points = {
        metric_id: [(point.timestamp, point.value) for point in batch]
        for metric_id, batch in body.data.items()
    }
    checked = check_batches(points, time.time())
    await service.add_points(writer, page, checked)
    echo = {
        metric_id: [{"timestamp": slot, "value": value} for slot, value in points]
        for metric_id, points in checked.items()
    }
    return Response(orjson.dumps(echo), status_code=202, media_type="application/json")


# JSON bodies of good points are answered by the lane in app/metrics/lane.py, with the same bytes;
# everything else by this function.
router.add_api_route(
    "/metrics/data",
    add_points,
    methods=["POST"],
    response_model=dict[str, list[DataPoint]],
    status_code=202,
    tags=METRICS,
    summary="Add data points to metrics",
    description="Every point is stored before the answer (the 202 is Statuspage's code). Each "
    "timestamp is cast to the nearest 30-second slot (the answer shows the casted ones), a later "
    "value for a slot replaces the earlier one, backfill reaches 28 days back. One bad point, or "
    "one metric that is unknown (404) or not of a Self provider (405), rejects the whole request.",
    operation_id="postPagesPageIdMetricsData",
    responses=error_responses(*DATA_ERRORS),
)


# Metrics -------------------------------------------------------------------------------------


@router.get(
    "/metrics",
    response_model=list[Metric],
    tags=METRICS,
    summary="Get a list of metrics",
    operation_id="getPagesPageIdMetrics",
    responses=error_responses(*READ_ERRORS),
)
async def list_metrics(page: PageDep, session: SessionDep, pagination: PaginationDep) -> Response:
    rows = await service.list_metrics(session, page, pagination)
    return json_response([Metric.of(row) for row in rows])


@router.get(
    "/metrics/{metric_id}",
    response_model=Metric,
    tags=METRICS,
    summary="Get a metric",
    operation_id="getPagesPageIdMetricsMetricId",
    responses=error_responses(*READ_ERRORS),
)
async def get_metric(target: TargetDep) -> Response:
    return json_response(Metric.of(target.metric))


async def _update_metric(
    body: MetricUpdateRequest, page: PageDep, target: TargetDep, writer: WriterDep
) -> Response:
    row = await service.update_metric(
        writer, page, target.metric, target.provider_type, body.metric
    )
    return json_response(Metric.of(row))


add_update_routes(
    router,
    "/metrics/{metric_id}",
    _update_metric,
    operation_id="PagesPageIdMetricsMetricId",
    response_model=Metric,
    tags=METRICS,
    summary="Update a metric",
    description="Takes every create field (Statuspage documents name and metric_identifier); "
    "PUT behaves like PATCH.",
)


@router.delete(
    "/metrics/{metric_id}",
    response_model=Metric,
    tags=METRICS,
    summary="Delete a metric",
    description="Deletes its data too; answers with the deleted metric.",
    operation_id="deletePagesPageIdMetricsMetricId",
    responses=error_responses(*WRITE_ERRORS),
)
async def delete_metric(page: PageDep, target: TargetDep, writer: WriterDep) -> Response:
    snapshot = Metric.of(target.metric)
    await service.delete_metric(writer, page, target.metric)
    return json_response(snapshot)


@router.post(
    "/metrics/{metric_id}/data",
    response_model=SingleMetricAddResponse,
    status_code=201,
    tags=METRICS,
    summary="Add data to a metric",
    description="The timestamp is cast to the nearest 30-second slot (the answer shows it); a "
    "later value for a slot replaces the earlier one; backfill reaches 28 days back. A metric "
    "that takes its data from a provider other than Self answers 405.",
    operation_id="postPagesPageIdMetricsMetricIdData",
    responses=error_responses(*DATA_ERRORS),
)
async def add_point(
    body: SingleDataRequest, page: PageDep, target: TargetDep, writer: WriterDep
) -> Response:
    service.refuse_pulled(target.metric.id, target.provider_type, "data", single=True)
    slot, value = check_point(body.data.timestamp, body.data.value, time.time())
    await service.add_points(writer, page, {target.metric.id: [(slot, value)]})
    answer = SingleMetricAddResponse(data=DataPoint(timestamp=slot, value=value))
    return json_response(answer, status_code=201)


@router.delete(
    "/metrics/{metric_id}/data",
    response_model=Metric,
    tags=METRICS,
    summary="Reset data for a metric",
    description="Deletes every data point and rollup of the metric; answers with the metric.",
    operation_id="deletePagesPageIdMetricsMetricIdData",
    responses=error_responses(*WRITE_ERRORS),
)
async def reset_data(page: PageDep, target: TargetDep, writer: WriterDep) -> Response:
    row = await service.reset_data(writer, page, target.metric)
    return json_response(Metric.of(row))
