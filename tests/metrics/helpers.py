"""Helpers shared by the metrics tests: create a provider and a metric through the API, post data."""

from __future__ import annotations

import time
from typing import Any

import httpx
from sqlalchemy import text

from app.core.db import Database
from app.metrics.rollups import fold_pending
from tests.conftest import Tenant

PROVIDER_FIELDS = {
    "id", "type", "disabled", "metric_base_uri", "last_revalidated_at", "created_at",
    "updated_at", "page_id",
}  # fmt: skip
METRIC_FIELDS = {
    "id", "metrics_provider_id", "metric_identifier", "name", "display", "tooltip_description",
    "backfilled", "y_axis_min", "y_axis_max", "y_axis_hidden", "suffix", "decimal_places",
    "most_recent_data_at", "created_at", "updated_at", "last_fetched_at", "backfill_percentage",
    "reference_name",
}  # fmt: skip
DATADOG = {
    "type": "Datadog",
    "api_key": "dd-api",
    "application_key": "dd-app",
    "metric_base_uri": "https://app.datadoghq.com/api/v1",
}


def aligned_past(width: int, buckets_back: int) -> int:
    """The start of the bucket of `width` seconds that began `buckets_back` buckets ago."""
    return int(time.time()) // width * width - buckets_back * width


async def create_provider(
    client: httpx.AsyncClient, tenant: Tenant, **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/v1/pages/{tenant.page_id}/metrics_providers",
        headers=tenant.auth,
        json={"metrics_provider": fields or {"type": "Self"}},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def create_metric(
    client: httpx.AsyncClient,
    tenant: Tenant,
    provider_id: str | None = None,
    name: str = "API latency",
    **fields: Any,
) -> dict[str, Any]:
    if provider_id is None:
        provider_id = (await create_provider(client, tenant))["id"]
    response = await client.post(
        f"/v1/pages/{tenant.page_id}/metrics_providers/{provider_id}/metrics",
        headers=tenant.auth,
        json={"metric": {"name": name, **fields}},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def post_point(
    client: httpx.AsyncClient, tenant: Tenant, metric_id: str, timestamp: Any, value: Any
) -> httpx.Response:
    return await client.post(
        f"/v1/pages/{tenant.page_id}/metrics/{metric_id}/data",
        headers=tenant.auth,
        json={"data": {"timestamp": timestamp, "value": value}},
    )


async def post_bulk(
    client: httpx.AsyncClient, tenant: Tenant, data: dict[str, list[dict[str, Any]]]
) -> httpx.Response:
    return await client.post(
        f"/v1/pages/{tenant.page_id}/metrics/data", headers=tenant.auth, json={"data": data}
    )


async def fold(db: Database) -> int:
    """What the worker's fold job does: the queued buckets' rollups recomputed from their points."""
    return await fold_pending(db.sessionmaker)


async def queued(db: Database) -> list[tuple[str, int]]:
    """The (metric, 2-hour bucket) pairs waiting for the fold."""
    async with db.sessionmaker() as session:
        rows = await session.execute(text("SELECT metric_id, bucket FROM metric_rollup_queue"))
        return sorted((row[0], row[1]) for row in rows)
