"""Authentication: every accepted way to present a key, and every way to fail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from app.core.logging import JsonFormatter
from tests.conftest import Tenant


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) >= {"message", "error"}
    assert isinstance(body["message"], str) and body["message"]
    return body


async def test_oauth_header(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get("/v1/pages", headers={"Authorization": f"OAuth {tenant.api_key}"})
    assert response.status_code == 200
    assert [p["id"] for p in response.json()] == [tenant.page_id]


async def test_bearer_header(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get(
        f"/v1/pages/{tenant.page_id}", headers={"Authorization": f"Bearer {tenant.api_key}"}
    )
    assert response.status_code == 200
    assert response.json()["id"] == tenant.page_id


async def test_query_parameter(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get(f"/v1/pages/{tenant.page_id}", params={"api_key": tenant.api_key})
    assert response.status_code == 200


async def test_missing_key_is_401(client: httpx.AsyncClient, tenant: Tenant) -> None:
    assert_error(await client.get("/v1/pages"), 401)
    assert_error(await client.patch(f"/v1/pages/{tenant.page_id}", json={"page": {}}), 401)


async def test_unknown_key_is_401(client: httpx.AsyncClient, tenant: Tenant) -> None:
    assert_error(await client.get("/v1/pages", headers={"Authorization": "OAuth " + "0" * 64}), 401)
    assert_error(await client.get("/v1/pages", params={"api_key": "nope"}), 401)


async def test_unknown_scheme_is_401(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get("/v1/pages", headers={"Authorization": f"Basic {tenant.api_key}"})
    assert_error(response, 401)
    assert_error(await client.get("/v1/pages", headers={"Authorization": "OAuth "}), 401)


async def test_page_of_another_organization_is_404(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: Callable[..., Any]
) -> None:
    other: Tenant = await make_tenant()
    response = await client.get(f"/v1/pages/{other.page_id}", headers=tenant.auth)
    body = assert_error(response, 404)
    assert other.page_id not in response.text and "Status" not in body["message"]
    patch = await client.patch(
        f"/v1/pages/{other.page_id}", headers=tenant.auth, json={"page": {"name": "Mine now"}}
    )
    assert_error(patch, 404)
    mine = await client.get(f"/v1/pages/{other.page_id}", headers=other.auth)
    assert mine.json()["name"] == "Status"
    listed = await client.get("/v1/pages", headers=tenant.auth)
    assert [p["id"] for p in listed.json()] == [tenant.page_id]


async def test_read_only_key_cannot_write(
    client: httpx.AsyncClient, make_tenant: Callable[..., Any]
) -> None:
    reader: Tenant = await make_tenant(role="read")
    assert (await client.get(f"/v1/pages/{reader.page_id}", headers=reader.auth)).status_code == 200
    response = await client.patch(
        f"/v1/pages/{reader.page_id}", headers=reader.auth, json={"page": {"name": "Changed"}}
    )
    assert_error(response, 403)
    assert_error(
        await client.post("/v1/pages", headers=reader.auth, json={"page": {"name": "X"}}), 403
    )
    page = await client.get(f"/v1/pages/{reader.page_id}", headers=reader.auth)
    assert page.json()["name"] == "Status"


async def test_key_is_not_logged(client: httpx.AsyncClient, tenant: Tenant, caplog: Any) -> None:
    caplog.set_level("INFO")
    await client.get(f"/v1/pages/{tenant.page_id}", params={"api_key": tenant.api_key})
    await client.get("/v1/pages", headers=tenant.auth)
    ours = [r for r in caplog.records if r.name.startswith(("statuspage", "app"))]
    assert ours, "the access log should have written something"
    formatter = JsonFormatter()
    for record in ours:
        assert tenant.api_key not in formatter.format(record)
