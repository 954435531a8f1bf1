"""GET /metrics-display/{metric_id}/{day|week|month}.json: a page's public metric graph data (no key).

Served directly until the public read path's snapshots exist; it reads rollups only, so it stays fast
with years of data. Hidden metrics and metrics of private pages answer 404.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from app.core.errors import NotFound
from app.core.infra import Infrastructure
from app.core.responses import error_responses, json_response
from app.metrics.display import metrics_display
from app.metrics.points import PERIODS
from app.metrics.schemas import MetricsDisplay

router = APIRouter(tags=["public"])
# Browsers on other origins embed these graphs; a CDN may hold them briefly.
PUBLIC_HEADERS = {"Access-Control-Allow-Origin": "*", "Cache-Control": "public, max-age=10"}


@router.get(
    "/metrics-display/{metric_id}/{period}.json",
    response_model=MetricsDisplay,
    summary="Get a metric's data for the public page's graph",
    description="Statuspage's public (undocumented) endpoint: one bucket per 5 minutes over a "
    "day, per 30 minutes over a week, or per 2 hours over 28 days, each the mean of its points, "
    "oldest first; only buckets with data are listed. The `{metric_id}` is the metric's own "
    "identifier, reported as `metrics_display_id`.",
    operation_id="getMetricsDisplay",
    responses=error_responses(404),
)
async def get_metrics_display(
    metric_id: Annotated[str, Path(description="Metric identifier")],
    period: Annotated[
        str, Path(description="day, week or month", json_schema_extra={"enum": list(PERIODS)})
    ],
    request: Request,
) -> Response:
    chosen = PERIODS.get(period)
    if chosen is None:
        raise NotFound("The requested resource could not be found.")
    infra: Infrastructure = request.app.state.infra
    async with infra.db.read_sessionmaker() as session:
        document = await metrics_display(session, metric_id, chosen, time.time())
    response = json_response(document)
    response.headers.update(PUBLIC_HEADERS)
    return response
