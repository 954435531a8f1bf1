"""Data points: slots, replacement, backfill and future limits, bad values, bulk atomicity, form
bodies, non-Self metrics, another organization's metrics, reset."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.core.db import Database
from app.core.timefmt import format_timestamp
from app.models import MetricPoint, MetricRollup
from tests.api.test_auth import assert_error
from tests.components.test_components import revision
from tests.conftest import Tenant
from tests.metrics.helpers import (
    DATADOG,
    METRIC_FIELDS,
    aligned_past,
    create_metric,
    create_provider,
    fold,
    post_bulk,
    post_point,
    queued,
)

DAY = 86_400


@pytest.fixture
async def metric(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, Any]:
    return await create_metric(client, tenant)


async def stored(db: Database, metric_id: str | None = None) -> list[tuple[str, int, float]]:
    async with db.sessionmaker() as session:
        query = select(MetricPoint).order_by(MetricPoint.metric_id, MetricPoint.ts)
        if metric_id is not None:
            query = query.where(MetricPoint.metric_id == metric_id)
        return [(p.metric_id, p.ts, p.value) for p in await session.scalars(query)]


async def rollup_count(db: Database) -> int:
    async with db.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(MetricRollup)) or 0)


async def get_metric(client: httpx.AsyncClient, tenant: Tenant, metric_id: str) -> dict[str, Any]:
    response = await client.get(
        f"/v1/pages/{tenant.page_id}/metrics/{metric_id}", headers=tenant.auth
    )
    body: dict[str, Any] = response.json()
    return body


async def test_single_point_is_cast_to_the_nearest_slot(
    client: httpx.AsyncClient, tenant: Tenant, metric: dict[str, Any], db: Database
) -> None:
    base = aligned_past(300, 10)
    cases = [
        (base + 14, base),
        (base + 15, base + 30),
        (base + 44, base + 30),
        (base + 89.9, base + 90),
    ]
    for index, (timestamp, slot) in enumerate(cases):
        response = await post_point(client, tenant, metric["id"], timestamp, index + 0.5)
        assert response.status_code == 201, response.text
        assert response.json() == {"data": {"timestamp": slot, "value": index + 0.5}}
    assert await stored(db) == [
        (metric["id"], base, 0.5),
        (metric["id"], base + 30, 2.5),  # the later value for the slot replaced the earlier one
        (metric["id"], base + 90, 3.5),
    ]


async def test_most_recent_data_at_tracks_the_newest_point(
    client: httpx.AsyncClient, tenant: Tenant, metric: dict[str, Any], db: Database
) -> None:
    newer, older = aligned_past(30, 10), aligned_past(30, 500)
    before = await revision(db, tenant.page_id)
    await post_point(client, tenant, metric["id"], newer, 1)
    await post_point(client, tenant, metric["id"], older, 2)
    body = await get_metric(client, tenant, metric["id"])
    assert set(body) == METRIC_FIELDS
    assert body["most_recent_data_at"] == format_timestamp(datetime.fromtimestamp(newer, UTC))
    assert body["last_fetched_at"] is None  # pushed, never fetched
    # Data points leave the page revision alone (see app/metrics/service.py).
    assert await revision(db, tenant.page_id) == before


async def test_form_encoded_points(
    client: httpx.AsyncClient, tenant: Tenant, metric: dict[str, Any], db: Database
) -> None:
    other = await create_metric(client, tenant, name="Other")
    slot = aligned_past(300, 4)
    form = {**tenant.auth, "Content-Type": "application/x-www-form-urlencoded"}
    single = await client.post(
        f"/v1/pages/{tenant.page_id}/metrics/{metric['id']}/data",
        headers=form,
        content=f"data[timestamp]={slot}&data[value]=12.5".encode(),
    )
    assert single.status_code == 201, single.text
    assert single.json() == {"data": {"timestamp": slot, "value": 12.5}}
    a, b = metric["id"], other["id"]
    bulk = await client.post(
        f"/v1/pages/{tenant.page_id}/metrics/data",
        headers=form,
        content=(
            f"data[{a}][][timestamp]={slot + 30}&data[{a}][][value]=1"
            f"&data[{a}][][timestamp]={slot + 61}&data[{a}][][value]=2"
            f"&data[{b}][][timestamp]={slot}&data[{b}][][value]=-3"
        ).encode(),
    )
    assert bulk.status_code == 202, bulk.text
    assert bulk.json() == {
        a: [{"timestamp": slot + 30, "value": 1.0}, {"timestamp": slot + 60, "value": 2.0}],
        b: [{"timestamp": slot, "value": -3.0}],
    }
    assert sorted(await stored(db)) == sorted(
        [(a, slot, 12.5), (a, slot + 30, 1.0), (a, slot + 60, 2.0), (b, slot, -3.0)]
    )


async def test_bulk_stores_every_metric_and_echoes_casted_points(
    client: httpx.AsyncClient, tenant: Tenant, metric: dict[str, Any], db: Database
) -> None:
    other = await create_metric(client, tenant, name="Other")
    slot = aligned_past(300, 4)
    data: dict[str, list[dict[str, Any]]] = {
        metric["id"]: [
            {"timestamp": slot + 1, "value": 1},
            {"timestamp": slot + 29, "value": 2},  # slot + 30
            {"timestamp": slot + 31, "value": 3},  # slot + 30 again: the later value wins
        ],
        other["id"]: [{"timestamp": str(slot), "value": "4.25"}],
    }
    response = await post_bulk(client, tenant, data)
    assert response.status_code == 202, response.text
    assert response.json() == {
        metric["id"]: [
            {"timestamp": slot, "value": 1.0},
            {"timestamp": slot + 30, "value": 2.0},
            {"timestamp": slot + 30, "value": 3.0},
        ],
        other["id"]: [{"timestamp": slot, "value": 4.25}],
    }
    assert await stored(db, metric["id"]) == [
        (metric["id"], slot, 1.0),
        (metric["id"], slot + 30, 3.0),
    ]
    assert await stored(db, other["id"]) == [(other["id"], slot, 4.25)]
    newest = format_timestamp(datetime.fromtimestamp(slot + 30, UTC))
    assert (await get_metric(client, tenant, metric["id"]))["most_recent_data_at"] == newest


async def test_backfill_reaches_28_days(
    client: httpx.AsyncClient, tenant: Tenant, metric: dict[str, Any], db: Database
) -> None:
    now = time.time()
    inside = int(now - 28 * DAY + 120)
    accepted = await post_point(client, tenant, metric["id"], inside, 1)
    assert accepted.status_code == 201, accepted.text
    too_old = int(now - 28 * DAY - 120)
    refused = await post_point(client, tenant, metric["id"], too_old, 1)
    message = assert_error(refused, 422)["message"]
    assert message.startswith("data.timestamp:") and "28 days" in message
    bulk = await post_bulk(
        client,
        tenant,
        {metric["id"]: [{"timestamp": inside, "value": 2}, {"timestamp": too_old, "value": 3}]},
    )
    assert f"data.{metric['id']}[1].timestamp" in assert_error(bulk, 422)["message"]
    assert [value for _, _, value in await stored(db)] == [1.0]


async def test_future_timestamps_are_refused(
    client: httpx.AsyncClient, tenant: Tenant, metric: dict[str, Any], db: Database
) -> None:
    now = int(time.time())
    for timestamp in (now + 3600, now * 1000):  # an hour ahead; milliseconds by mistake
        message = assert_error(await post_point(client, tenant, metric["id"], timestamp, 1), 422)[
            "message"
        ]
        assert message.startswith("data.timestamp:") and "future" in message
    assert await stored(db) == []


@pytest.mark.parametrize(
    ("raw_value", "problem"),
    [("NaN", "finite"), ("Infinity", "finite"), ("-Infinity", "finite"), ("1e999", "finite"),
     ('"abc"', "must be a number"), ("true", "must be a number"), ("null", "is required"),
     ("[1]", "must be a number"), ('"NaN"', "finite")],
)  # fmt: skip
async def test_bad_values_are_named(
    client: httpx.AsyncClient,
    tenant: Tenant,
    metric: dict[str, Any],
    db: Database,
    raw_value: str,
    problem: str,
) -> None:
    slot = aligned_past(300, 2)
    single = await client.post(
        f"/v1/pages/{tenant.page_id}/metrics/{metric['id']}/data",
        headers={**tenant.auth, "Content-Type": "application/json"},
        content=f'{{"data": {{"timestamp": {slot}, "value": {raw_value}}}}}'.encode(),
    )
    message = assert_error(single, 422)["message"]
    assert message.startswith("data.value:") and problem in message, message
    good = f'{{"timestamp": {slot}, "value": 1}}'
    bad = f'{{"timestamp": {slot + 30}, "value": {raw_value}}}'
    bulk = await client.post(
        f"/v1/pages/{tenant.page_id}/metrics/data",
        headers={**tenant.auth, "Content-Type": "application/json"},
        content=f'{{"data": {{"{metric["id"]}": [{good}, {good}, {bad}]}}}}'.encode(),
    )
    message = assert_error(bulk, 422)["message"]
    assert message.startswith(f"data.{metric['id']}[2].value:") and problem in message, message
    assert await stored(db) == []


async def test_bad_timestamps_are_named(
    client: httpx.AsyncClient, tenant: Tenant, metric: dict[str, Any]
) -> None:
    for timestamp, problem in (
        ("yesterday", "Unix seconds"),
        (None, "is required"),
        (True, "Unix seconds"),
    ):
        response = await post_point(client, tenant, metric["id"], timestamp, 1)
        message = assert_error(response, 422)["message"]
        assert message.startswith("data.timestamp:") and problem in message, message
    missing = await client.post(
        f"/v1/pages/{tenant.page_id}/metrics/{metric['id']}/data",
        headers=tenant.auth,
        json={"data": {"value": 1}},
    )
    assert "data.timestamp: is required" in assert_error(missing, 422)["message"]


async def test_one_bad_point_rejects_the_whole_bulk_request(
    client: httpx.AsyncClient, tenant: Tenant, metric: dict[str, Any], db: Database
) -> None:
    other = await create_metric(client, tenant, name="Other")
    slot = aligned_past(300, 6)
    good: list[dict[str, Any]] = [{"timestamp": slot + 30 * i, "value": i} for i in range(50)]
    bad = [*good[:10], {"timestamp": slot, "value": "n/a"}, *good[10:]]
    response = await post_bulk(client, tenant, {metric["id"]: good, other["id"]: bad})
    message = assert_error(response, 422)["message"]
    assert message == f"data.{other['id']}[10].value: must be a number, got 'n/a'"
    # Every bad point is named (up to ten), wherever it is.
    many = await post_bulk(client, tenant, {metric["id"]: [{"timestamp": "x", "value": "y"}] * 6})
    assert assert_error(many, 422)["message"].count(f"data.{metric['id']}[") == 10
    assert await stored(db) == []
    assert await queued(db) == []
    assert await rollup_count(db) == 0
    assert (await get_metric(client, tenant, metric["id"]))["most_recent_data_at"] is None
    empty = await post_bulk(client, tenant, {})
    assert "data" in assert_error(empty, 422)["message"]


async def test_unknown_and_foreign_metrics_reject_the_bulk_request(
    client: httpx.AsyncClient,
    tenant: Tenant,
    metric: dict[str, Any],
    db: Database,
    make_tenant: Any,
) -> None:
    other: Tenant = await make_tenant()
    theirs = await create_metric(client, other)
    slot = aligned_past(300, 2)
    point = [{"timestamp": slot, "value": 1}]
    for unknown in ("zzzzzzzzzzzz", theirs["id"]):
        response = await post_bulk(client, tenant, {metric["id"]: point, unknown: point})
        assert f"data.{unknown}" in assert_error(response, 404)["message"]
    # Their page with my key: the page itself is not found.
    foreign = await client.post(
        f"/v1/pages/{other.page_id}/metrics/data",
        headers=tenant.auth,
        json={"data": {theirs["id"]: point}},
    )
    assert_error(foreign, 404)
    assert await stored(db) == []


async def test_only_self_metrics_take_data(
    client: httpx.AsyncClient, tenant: Tenant, metric: dict[str, Any], db: Database
) -> None:
    datadog = await create_provider(client, tenant, **DATADOG)
    pulled = await create_metric(client, tenant, datadog["id"], "CPU", metric_identifier="cpu")
    slot = aligned_past(300, 2)
    single = await post_point(client, tenant, pulled["id"], slot, 1)
    assert "Self" in assert_error(single, 405)["message"]
    assert single.headers["allow"] == "DELETE"
    point = [{"timestamp": slot, "value": 1}]
    bulk = await post_bulk(client, tenant, {metric["id"]: point, pulled["id"]: point})
    assert f"data.{pulled['id']}" in assert_error(bulk, 405)["message"]
    assert await stored(db) == []


async def test_reset_forgets_every_point(
    client: httpx.AsyncClient, tenant: Tenant, metric: dict[str, Any], db: Database
) -> None:
    other = await create_metric(client, tenant, name="Other")
    slot = aligned_past(300, 5)
    points = [{"timestamp": slot + 30 * i, "value": i} for i in range(5)]
    await post_bulk(client, tenant, {metric["id"]: points, other["id"]: points})
    before = await revision(db, tenant.page_id)
    url = f"/v1/pages/{tenant.page_id}/metrics/{metric['id']}/data"
    reset = await client.delete(url, headers=tenant.auth)
    assert reset.status_code == 200, reset.text
    assert set(reset.json()) == METRIC_FIELDS
    assert reset.json()["id"] == metric["id"] and reset.json()["most_recent_data_at"] is None
    assert await stored(db, metric["id"]) == []
    assert len(await stored(db, other["id"])) == 5  # the other metric keeps its data
    await fold(db)  # the reset metric's queued bucket is folded too: it finds no points
    assert await rollup_count(db) == 3  # the other metric's day, week and month buckets
    assert await revision(db, tenant.page_id) == before + 1
    assert (await get_metric(client, tenant, metric["id"]))["most_recent_data_at"] is None
    again = await post_point(client, tenant, metric["id"], slot, 7)
    assert again.status_code == 201
    assert await stored(db, metric["id"]) == [(metric["id"], slot, 7.0)]
