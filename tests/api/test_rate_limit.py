"""The per-key rate limit, shared through Redis by every app instance."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from tests.api.test_auth import assert_error
from tests.conftest import Tenant


async def test_limit_answers_420_with_retry_after(
    make_client: Callable[..., Any], tenant: Tenant
) -> None:
    client: httpx.AsyncClient = await make_client(rate_limit_per_minute=3)
    seen = []
    for _ in range(3):
        response = await client.get(f"/v1/pages/{tenant.page_id}", headers=tenant.auth)
        assert response.status_code == 200
        seen.append(response.headers["X-RateLimit-Remaining"])
        assert response.headers["X-RateLimit-Limit"] == "3"
    assert seen == ["2", "1", "0"]
    limited = await client.get(f"/v1/pages/{tenant.page_id}", headers=tenant.auth)
    assert_error(limited, 420)
    retry_after = int(limited.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert int(limited.headers["X-RateLimit-Reset"]) >= int(time.time())
    # Writes are refused too, and change nothing.
    write = await client.patch(
        f"/v1/pages/{tenant.page_id}", headers=tenant.auth, json={"page": {"name": "Throttled"}}
    )
    assert_error(write, 420)


async def test_429_when_configured(make_client: Callable[..., Any], tenant: Tenant) -> None:
    client: httpx.AsyncClient = await make_client(rate_limit_per_minute=1, rate_limit_status=429)
    assert (await client.get("/v1/pages", headers=tenant.auth)).status_code == 200
    limited = await client.get("/v1/pages", headers=tenant.auth)
    assert_error(limited, 429)
    assert "Retry-After" in limited.headers


async def test_two_app_instances_share_one_limit(
    make_client: Callable[..., Any], tenant: Tenant
) -> None:
    first: httpx.AsyncClient = await make_client(rate_limit_per_minute=4)
    second: httpx.AsyncClient = await make_client(rate_limit_per_minute=4)
    assert first._transport is not second._transport  # two apps, two lifespans
    statuses = []
    for client in (first, second, first, second, first, second):
        statuses.append((await client.get("/v1/pages", headers=tenant.auth)).status_code)
    assert statuses == [200, 200, 200, 200, 420, 420]


async def test_limit_is_per_key(
    make_client: Callable[..., Any], tenant: Tenant, make_tenant: Callable[..., Any]
) -> None:
    client: httpx.AsyncClient = await make_client(rate_limit_per_minute=1)
    other: Tenant = await make_tenant()
    assert (await client.get("/v1/pages", headers=tenant.auth)).status_code == 200
    assert (await client.get("/v1/pages", headers=tenant.auth)).status_code == 420
    assert (await client.get("/v1/pages", headers=other.auth)).status_code == 200


async def test_zero_switches_it_off(make_client: Callable[..., Any], tenant: Tenant) -> None:
    client: httpx.AsyncClient = await make_client(rate_limit_per_minute=0)
    for _ in range(70):
        response = await client.get("/v1/pages", headers=tenant.auth)
        assert response.status_code == 200
    assert "X-RateLimit-Limit" not in response.headers
