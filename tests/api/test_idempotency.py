"""Idempotency-Key (extension): a retried write replays the stored answer and writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from redis.asyncio import Redis
from sqlalchemy import select

from app.core.db import Database
from app.core.idempotency import IdempotencyStore, fingerprint
from app.core.security import hash_api_key
from app.models import ApiKey
from tests.api.test_auth import assert_error
from tests.conftest import Servers, Tenant


async def test_retried_create_makes_one_page(client: httpx.AsyncClient, tenant: Tenant) -> None:
    headers = {**tenant.auth, "Idempotency-Key": "create-1"}
    body = {"page": {"name": "Once"}}
    first = await client.post("/v1/pages", headers=headers, json=body)
    second = await client.post("/v1/pages", headers=headers, json=body)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    pages = (await client.get("/v1/pages", headers=tenant.auth)).json()
    assert [p["name"] for p in pages].count("Once") == 1


async def test_retried_update_changes_nothing_more(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    url = f"/v1/pages/{tenant.page_id}"
    headers = {**tenant.auth, "Idempotency-Key": "rename"}
    first = await client.patch(url, headers=headers, json={"page": {"name": "Renamed"}})
    # Someone else changes the page in between; the replay must not undo it.
    await client.patch(url, headers=tenant.auth, json={"page": {"name": "Changed later"}})
    replay = await client.patch(url, headers=headers, json={"page": {"name": "Renamed"}})
    assert replay.json() == first.json()
    assert (await client.get(url, headers=tenant.auth)).json()["name"] == "Changed later"


async def test_same_key_different_body_is_422(client: httpx.AsyncClient, tenant: Tenant) -> None:
    headers = {**tenant.auth, "Idempotency-Key": "k"}
    assert (
        await client.post("/v1/pages", headers=headers, json={"page": {"name": "A"}})
    ).status_code == 201
    response = await client.post("/v1/pages", headers=headers, json={"page": {"name": "B"}})
    body = assert_error(response, 422)
    assert "Idempotency-Key" in body["message"]
    names = [p["name"] for p in (await client.get("/v1/pages", headers=tenant.auth)).json()]
    assert "B" not in names


async def test_failed_request_does_not_burn_the_key(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = {**tenant.auth, "Idempotency-Key": "retry-after-fix"}
    bad = await client.post("/v1/pages", headers=headers, json={"page": {"name": "x" * 300}})
    assert_error(bad, 422)
    good = await client.post("/v1/pages", headers=headers, json={"page": {"name": "x" * 300}})
    assert_error(good, 422)  # same body again: evaluated again, still invalid
    fixed = await client.post(
        "/v1/pages",
        headers={**tenant.auth, "Idempotency-Key": "other"},
        json={"page": {"name": "ok"}},
    )
    assert fixed.status_code == 201


async def test_keys_are_scoped_to_the_api_key(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: Callable[..., Any]
) -> None:
    other: Tenant = await make_tenant()
    body = {"page": {"name": "Shared key name"}}
    a = await client.post(
        "/v1/pages", headers={**tenant.auth, "Idempotency-Key": "same"}, json=body
    )
    b = await client.post("/v1/pages", headers={**other.auth, "Idempotency-Key": "same"}, json=body)
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]


async def test_duplicate_while_in_flight_is_409(
    client: httpx.AsyncClient, tenant: Tenant, servers: Servers, db: Database
) -> None:
    body = b'{"page": {"name": "Slow"}}'
    async with db.sessionmaker() as session:
        key_id = await session.scalar(
            select(ApiKey.id).where(ApiKey.key_hash == hash_api_key(tenant.api_key))
        )
    assert key_id is not None
    redis = Redis.from_url(servers.redis_url)
    try:
        # What a first request holds while it runs: the key's in-flight claim.
        store = IdempotencyStore(redis, 60)
        claim = await store.claim(key_id, "busy", fingerprint("POST", "/v1/pages", body))
        assert claim is not None
        response = await client.post(
            "/v1/pages",
            headers={**tenant.auth, "Idempotency-Key": "busy", "Content-Type": "application/json"},
            content=body,
        )
        assert_error(response, 409)
        names = [p["name"] for p in (await client.get("/v1/pages", headers=tenant.auth)).json()]
        assert "Slow" not in names
    finally:
        await redis.aclose()
