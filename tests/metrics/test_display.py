"""GET /metrics-display/{metric_id}/{day|week|month}.json: the exact shape of API.md 5.5, per period."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import delete

from app.core.db import Database
from app.core.timefmt import format_timestamp
from app.models import MetricPoint
from tests.api.test_auth import assert_error
from tests.conftest import Tenant
from tests.metrics.helpers import aligned_past, create_metric, fold, post_bulk

DISPLAYED_METRIC_FIELDS = [
    "name", "metric_identifier", "created_at", "updated_at", "id", "metrics_provider_id",
    "metrics_display_id", "most_recent_data_at", "backfilled", "last_fetched_at",
    "backfill_percentage",
]  # fmt: skip


def displayed(metric: dict[str, Any], newest: int | None) -> dict[str, Any]:
    return {
        "name": metric["name"],
        "metric_identifier": metric["metric_identifier"],
        "created_at": metric["created_at"],
        "updated_at": metric["updated_at"],
        "id": metric["id"],
        "metrics_provider_id": metric["metrics_provider_id"],
        "metrics_display_id": metric["id"],
        "most_recent_data_at": (
            None if newest is None else format_timestamp(datetime.fromtimestamp(newest, UTC))
        ),
        "backfilled": True,
        "last_fetched_at": metric["last_fetched_at"],
        "backfill_percentage": 1.0,
    }


@pytest.mark.parametrize(
    ("period", "interval", "count"), [("day", 300, 288), ("week", 1800, 336), ("month", 7200, 336)]
)
async def test_each_period(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    period: str,
    interval: int,
    count: int,
) -> None:
    metric = await create_metric(client, tenant, metric_identifier="api.latency", decimal_places=2)
    base = aligned_past(interval, 20)
    # Bucket base: 1, 2 and 4.5 (mean 2.5); bucket base+2: 10 then replaced by 7 (mean 7);
    # the newest point, 0.125, sits alone in bucket base+5 (shown as 0.12 with 2 decimal places).
    points = [
        (base, 1.0), (base + interval - 30, 4.5), (base + 30, 2.0),
        (base + 2 * interval, 10.0), (base + 2 * interval, 7.0),
        (base + 5 * interval, 0.125),
    ]  # fmt: skip
    data = {metric["id"]: [{"timestamp": ts, "value": value} for ts, value in points]}
    assert (await post_bulk(client, tenant, data)).status_code == 202
    # A point from before the view's first bucket (the month view's 28 days hold everything
    # within the backfill limit, so only the shorter views have one to leave out).
    earlier = base - (count - 19) * interval
    if period != "month":
        earlier_point = {metric["id"]: [{"timestamp": earlier, "value": 1000.0}]}
        assert (await post_bulk(client, tenant, earlier_point)).status_code == 202

    response = await client.get(f"/metrics-display/{metric['id']}/{period}.json")
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == "*"
    body = response.json()
    assert list(body) == ["period", "metrics", "summary"]
    assert list(body["metrics"][0]["metric"]) == DISPLAYED_METRIC_FIELDS
    total = 2.5 + 7.0 + 0.125
    fresh = (await client.get(f"/v1/pages/{tenant.page_id}/metrics/{metric['id']}", headers=tenant.auth)).json()  # fmt: skip
    assert body == {
        "period": {"count": count, "interval": interval, "identifier": period},
        "metrics": [
            {
                "metric": displayed(fresh, base + 5 * interval),
                "summary": {"sum": total, "mean": total / 3},
                "data": [
                    {"timestamp": base, "value": 2.5},
                    {"timestamp": base + 2 * interval, "value": 7.0},
                    {"timestamp": base + 5 * interval, "value": 0.12},
                ],
            }
        ],
        "summary": {"sum": total, "mean": total / 3, "last": 0.12},
    }

    # Once the worker has folded the points, it reads the rollups only: without the raw points the
    # answer is the same.
    await fold(db)
    async with db.sessionmaker() as session, session.begin():
        await session.execute(delete(MetricPoint))
    again = await client.get(f"/metrics-display/{metric['id']}/{period}.json")
    assert again.json() == body


async def test_whole_numbers_without_decimal_places(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    metric = await create_metric(client, tenant)  # decimal_places 0
    base = aligned_past(300, 3)
    data = {metric["id"]: [{"timestamp": base, "value": 70.4}, {"timestamp": base + 30, "value": 71.0}]}  # fmt: skip
    await post_bulk(client, tenant, data)
    body = (await client.get(f"/metrics-display/{metric['id']}/day.json")).json()
    assert body["metrics"][0]["data"] == [{"timestamp": base, "value": 71}]
    assert isinstance(body["metrics"][0]["data"][0]["value"], int)
    assert body["summary"] == {"sum": 70.7, "mean": 70.7, "last": 71}


async def test_empty_hidden_private_and_unknown(client: httpx.AsyncClient, tenant: Tenant) -> None:
    metric = await create_metric(client, tenant)
    empty = (await client.get(f"/metrics-display/{metric['id']}/week.json")).json()
    assert empty["metrics"][0]["data"] == []
    assert empty["metrics"][0]["summary"] == {"sum": 0.0, "mean": None}
    assert empty["summary"] == {"sum": 0.0, "mean": None, "last": None}
    assert empty["metrics"][0]["metric"]["most_recent_data_at"] is None

    assert_error(await client.get(f"/metrics-display/{metric['id']}/year.json"), 404)
    assert_error(await client.get("/metrics-display/zzzzzzzzzzzz/day.json"), 404)
    assert_error(await client.get(f"/metrics-display/{metric['id']}/day"), 404)

    url = f"/v1/pages/{tenant.page_id}/metrics/{metric['id']}"
    await client.patch(url, headers=tenant.auth, json={"metric": {"display": False}})
    assert_error(await client.get(f"/metrics-display/{metric['id']}/day.json"), 404)
    await client.patch(url, headers=tenant.auth, json={"metric": {"display": True}})
    assert (await client.get(f"/metrics-display/{metric['id']}/day.json")).status_code == 200

    private = await client.patch(
        f"/v1/pages/{tenant.page_id}",
        headers=tenant.auth,
        json={"page": {"viewers_must_be_team_members": True}},
    )
    assert private.status_code == 200, private.text
    assert_error(await client.get(f"/metrics-display/{metric['id']}/day.json"), 404)


async def test_hidden_on_an_audience_specific_page(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """Once a page has page access users, its viewers see only their share: no public graph."""
    metric = await create_metric(client, tenant)
    assert (await client.get(f"/metrics-display/{metric['id']}/day.json")).status_code == 200
    viewer = await client.post(
        f"/v1/pages/{tenant.page_id}/page_access_users",
        headers=tenant.auth,
        json={"page_access_user": {"email": "viewer@example.com"}},
    )
    assert viewer.status_code == 200, viewer.text
    assert_error(await client.get(f"/metrics-display/{metric['id']}/day.json"), 404)
