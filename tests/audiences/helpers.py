"""Helpers shared by the audience tests: create page access users and groups through the API."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Tenant

USER_FIELDS = {
    "id", "page_id", "email", "external_login", "page_access_group_id", "page_access_group_ids",
    "component_ids", "metric_ids", "created_at", "updated_at",
}  # fmt: skip
GROUP_FIELDS = {
    "id", "page_id", "name", "page_access_user_ids", "external_identifier", "metric_ids",
    "component_ids", "created_at", "updated_at",
}  # fmt: skip


def base(tenant: Tenant) -> str:
    return f"/v1/pages/{tenant.page_id}"


async def create_user(
    client: httpx.AsyncClient, tenant: Tenant, email: str, **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        f"{base(tenant)}/page_access_users",
        headers=tenant.auth,
        json={"page_access_user": {"email": email, **fields}},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def create_group(
    client: httpx.AsyncClient, tenant: Tenant, name: str, **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        f"{base(tenant)}/page_access_groups",
        headers=tenant.auth,
        json={"page_access_group": {"name": name, **fields}},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def get_json(client: httpx.AsyncClient, tenant: Tenant, path: str) -> Any:
    response = await client.get(f"{base(tenant)}{path}", headers=tenant.auth)
    assert response.status_code == 200, response.text
    return response.json()
