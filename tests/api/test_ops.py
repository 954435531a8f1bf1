"""Operations: /healthz, /readyz (with a Redis that really stops), /metrics, request ids."""

from __future__ import annotations

from pathlib import Path

import httpx

from app.core.config import Settings
from app.core.embedded import EmbeddedRedis
from app.main import create_app
from tests.conftest import Servers, Tenant


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_readyz_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


async def test_readyz_reports_a_stopped_redis(servers: Servers, tmp_path: Path) -> None:
    redis = EmbeddedRedis(tmp_path / "redis")
    redis.start()
    app = create_app(Settings(), database_url=servers.database_url, redis_url=redis.url)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://t"
            ) as client,
        ):
            assert (await client.get("/readyz")).status_code == 200
            redis.stop()
            response = await client.get("/readyz")
            assert response.status_code == 503
            body = response.json()
            assert body["checks"] == {"database": "ok", "redis": "unavailable"}
            assert "redis" in body["message"] and "database" not in body["message"]
            assert (await client.get("/healthz")).status_code == 200
    finally:
        redis.stop()


async def test_readyz_reports_an_unreachable_database(servers: Servers, tmp_path: Path) -> None:
    url = f"postgresql+asyncpg://postgres@/statuspage?host={tmp_path}"
    app = create_app(Settings(), database_url=url, redis_url=servers.redis_url)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["checks"] == {"database": "unavailable", "redis": "ok"}
        assert "database" in response.json()["message"]


async def test_request_id_is_echoed_or_made(client: httpx.AsyncClient) -> None:
    echoed = await client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert echoed.headers["X-Request-Id"] == "abc-123"
    made = await client.get("/healthz")
    assert len(made.headers["X-Request-Id"]) == 32
    hostile = await client.get("/healthz", headers={"X-Request-Id": "bad id\twith spaces"})
    assert hostile.headers["X-Request-Id"] != "bad id\twith spaces"


async def test_request_id_on_errors(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/pages", headers={"X-Request-Id": "err-1"})
    assert response.status_code == 401 and response.headers["X-Request-Id"] == "err-1"


def _samples(text: str) -> dict[str, float]:
    return {
        name: float(value)
        for name, _, value in (line.rpartition(" ") for line in text.splitlines())
        if name and not name.startswith("#")
    }


async def test_metrics_counts_requests_by_route(client: httpx.AsyncClient, tenant: Tenant) -> None:
    # The counters live as long as the app (which the test fixtures reuse): compare differences.
    before = _samples((await client.get("/metrics")).text)
    await client.get(f"/v1/pages/{tenant.page_id}", headers=tenant.auth)
    await client.get(f"/v1/pages/{tenant.page_id}.json", headers=tenant.auth)
    await client.get("/v1/pages/zzzzzzzzzzzz", headers=tenant.auth)
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    after = _samples(text)

    def grew(name: str) -> float:
        return after.get(name, 0) - before.get(name, 0)

    ok = 'statuspage_http_requests_total{method="GET",route="/v1/pages/{page_id}",status="200"}'
    missing = (
        'statuspage_http_requests_total{method="GET",route="/v1/pages/{page_id}",status="404"}'
    )
    assert grew(ok) == 2
    assert grew(missing) == 1
    assert grew('statuspage_http_request_duration_seconds_count{route="/v1/pages/{page_id}"}') == 3
    assert "statuspage_queue_depth 0" in text
    assert tenant.page_id not in text
