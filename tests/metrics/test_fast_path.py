"""POST /metrics/data's lane (app/metrics/lane.py): the cases it answers, answered as the route
answers them; the cases it hands to the route, handed over before anything is stored."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from starlette.responses import Response

from app.core.config import Settings
from app.core.db import Database
from app.core.lanes import LaneRequest
from app.core.security import Principal, hash_api_key
from app.main import create_app
from app.metrics.lane import BulkDataLane
from app.models import MetricPoint
from tests.api.test_auth import assert_error
from tests.conftest import Servers, Tenant
from tests.metrics.helpers import DATADOG, aligned_past, create_metric, create_provider, queued


@pytest.fixture
async def app(servers: Servers, settings: Settings, clean: None) -> AsyncIterator[FastAPI]:
    """An app with its infrastructure up, for calling the fast path directly (no request is routed
    through it, so FastAPI never prepares its routes)."""
    built = create_app(settings, database_url=servers.database_url, redis_url=servers.redis_url)
    async with built.router.lifespan_context(built):
        yield built


async def answer(scope: dict[str, Any], body: bytes) -> Response | None:
    """The lane's answer to a request ServiceMiddleware has buffered (None: the route's case)."""
    params = {"page_id": scope["path_params"]["page_id"]}
    return await BulkDataLane().answer(LaneRequest(scope, body, params))


def lane_of(client: httpx.AsyncClient) -> BulkDataLane:
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    lanes = transport.app.state.lanes  # type: ignore[attr-defined]
    return next(lane for lane in lanes if isinstance(lane, BulkDataLane))


def scope_of(app: FastAPI, tenant: Tenant, **headers: str) -> dict[str, Any]:
    sent = {"authorization": f"OAuth {tenant.api_key}", "content-type": "application/json"}
    sent.update({name.replace("_", "-"): value for name, value in headers.items()})
    return {
        "type": "http",
        "method": "POST",
        "path": f"/v1/pages/{tenant.page_id}/metrics/data",
        "headers": [(name.encode(), value.encode()) for name, value in sent.items() if value],
        "app": app,
        "path_params": {"page_id": tenant.page_id},
    }


def know_key(app: FastAPI, tenant: Tenant, role: str = "write", user_id: str | None = None) -> None:
    """What the route's authentication leaves in the process's key cache."""
    principal = Principal("key-id", tenant.organization_id, role, user_id)
    app.state.infra.principals.put(hash_api_key(tenant.api_key), principal)


async def points_of(db: Database, metric_id: str) -> list[tuple[int, float]]:
    async with db.sessionmaker() as session:
        rows = await session.execute(
            select(MetricPoint.ts, MetricPoint.value)
            .where(MetricPoint.metric_id == metric_id)
            .order_by(MetricPoint.ts)
        )
        return [(row.ts, row.value) for row in rows]


async def test_fast_path_stores_and_answers_good_points(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    metric = await create_metric(client, tenant)
    slot = aligned_past(7200, 3)
    points = [{"timestamp": slot + 1, "value": 2}, {"timestamp": slot + 44, "value": 2.5}]
    body = {"data": {metric["id"]: points}}
    know_key(app, tenant)
    response = await answer(scope_of(app, tenant), orjson.dumps(body))
    assert response is not None and response.status_code == 202
    assert orjson.loads(response.body) == {
        metric["id"]: [{"timestamp": slot, "value": 2.0}, {"timestamp": slot + 30, "value": 2.5}]
    }
    assert await points_of(db, metric["id"]) == [(slot, 2.0), (slot + 30, 2.5)]
    assert await queued(db) == [(metric["id"], slot)]
    # The same slots again: the cheaper insert fails on them, the statement that replaces runs.
    again = {"data": {metric["id"]: [{"timestamp": slot, "value": 7}]}}
    response = await answer(scope_of(app, tenant), orjson.dumps(again))
    assert response is not None and response.status_code == 202
    assert await points_of(db, metric["id"]) == [(slot, 7.0), (slot + 30, 2.5)]


async def test_what_the_fast_path_hands_to_the_route(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    metric = await create_metric(client, tenant)
    slot = aligned_past(300, 3)
    good = orjson.dumps({"data": {metric["id"]: [{"timestamp": slot, "value": 1}]}})
    # A key the process has not seen yet (the route loads it and fills the cache).
    assert await answer(scope_of(app, tenant), good) is None
    know_key(app, tenant)
    bad_points = [
        [5],
        [{"timestamp": slot, "value": "x"}],
        [{"timestamp": slot + 10**9, "value": 1}],
    ]
    handed_over = [
        (scope_of(app, tenant, idempotency_key="k1"), good),
        (scope_of(app, tenant, content_type="application/x-www-form-urlencoded"), good),
        (scope_of(app, tenant, authorization=""), good),  # ?api_key= in the query string
        (scope_of(app, tenant), b'{"data": {}}'),
        (scope_of(app, tenant), b'{"data": [1]}'),
        (scope_of(app, tenant), b"{not json"),
        (scope_of(app, tenant), orjson.dumps({"data": {metric["id"]: {"timestamp": slot}}})),
        (
            scope_of(app, tenant),
            b'{"data": {"%s": [{"timestamp": %d, "value": NaN}]}}' % (metric["id"].encode(), slot),
        ),
        *((scope_of(app, tenant), orjson.dumps({"data": {metric["id"]: p}})) for p in bad_points),
    ]
    for scope, body in handed_over:
        assert await answer(scope, body) is None, (scope["headers"], body)
    for role, user_id in (("read", None), ("write", "user-1")):
        know_key(app, tenant, role, user_id)
        assert await answer(scope_of(app, tenant), good) is None
    assert await points_of(db, metric["id"]) == []
    assert await queued(db) == []


async def route_and_fast(
    client: httpx.AsyncClient, tenant: Tenant, page_id: str, body: dict[str, Any]
) -> tuple[httpx.Response, httpx.Response]:
    """The same request through the route (the key in the query string, which the fast path leaves
    to it) and through the fast path (the key in the header, cached by the route's request)."""
    url = f"/v1/pages/{page_id}/metrics/data"
    route = await client.post(url, params={"api_key": tenant.api_key}, json=body)
    fast = await client.post(url, headers=tenant.auth, json=body)
    return route, fast


async def test_fast_path_and_route_answer_alike(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: Any, db: Database
) -> None:
    metric = await create_metric(client, tenant)
    datadog = await create_provider(client, tenant, **DATADOG)
    pulled = await create_metric(client, tenant, datadog["id"], "CPU", metric_identifier="cpu")
    other: Tenant = await make_tenant()
    theirs = await create_metric(client, other)
    slot = aligned_past(300, 3)
    point = [{"timestamp": slot, "value": 1}]
    rounded = [{"timestamp": slot + 14, "value": 1}, {"timestamp": slot + 15, "value": 2.25}]
    cases = [
        (tenant.page_id, {metric["id"]: rounded}),
        (tenant.page_id, {metric["id"]: point, "zzzzzzzzzzzz": point}),  # unknown: 404
        (tenant.page_id, {metric["id"]: point, theirs["id"]: point}),  # another page's: 404
        (tenant.page_id, {metric["id"]: point, pulled["id"]: point}),  # not Self: 405
        (other.page_id, {theirs["id"]: point}),  # another organization's page: 404
    ]
    statuses = []
    answered = lane_of(client).answered
    for page_id, data in cases:
        route, fast = await route_and_fast(client, tenant, page_id, {"data": data})
        assert (fast.status_code, fast.content) == (route.status_code, route.content), data
        assert fast.headers["content-type"] == route.headers["content-type"]
        statuses.append(fast.status_code)
    assert statuses == [202, 404, 404, 405, 404]
    assert lane_of(client).answered == answered + len(cases)  # the route answered the others
    assert await points_of(db, metric["id"]) == [(slot, 1.0), (slot + 30, 2.25)]
    assert await points_of(db, theirs["id"]) == []


async def test_rate_limit_applies_in_the_fast_path(
    make_client: Callable[..., Any], tenant: Tenant, db: Database
) -> None:
    client: httpx.AsyncClient = await make_client(rate_limit_per_minute=5)
    metric = await create_metric(client, tenant)  # 2 of 5: the provider and the metric
    slot = aligned_past(300, 3)
    url = f"/v1/pages/{tenant.page_id}/metrics/data"

    def body(index: int) -> dict[str, Any]:
        return {"data": {metric["id"]: [{"timestamp": slot + 30 * index, "value": index}]}}

    route = await client.post(url, params={"api_key": tenant.api_key}, json=body(0))  # 3 of 5
    assert route.headers["X-RateLimit-Remaining"] == "2"
    fast = [await client.post(url, headers=tenant.auth, json=body(i)) for i in (1, 2, 3)]
    assert [answer.status_code for answer in fast] == [202, 202, 420]
    assert [answer.headers["X-RateLimit-Remaining"] for answer in fast] == ["1", "0", "0"]
    assert_error(fast[2], 420)
    assert int(fast[2].headers["Retry-After"]) >= 1
    assert await points_of(db, metric["id"]) == [(slot, 0.0), (slot + 30, 1.0), (slot + 60, 2.0)]
