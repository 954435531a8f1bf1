"""Helpers for the organization tests: users, permissions and keys tied to users, via the API."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Tenant

USER_FIELDS = {
    "id",
    "organization_id",
    "email",
    "first_name",
    "last_name",
    "created_at",
    "updated_at",
}


def org_url(tenant: Tenant) -> str:
    return f"/v1/organizations/{tenant.organization_id}"


async def create_user(
    client: httpx.AsyncClient, tenant: Tenant, email: str, **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        f"{org_url(tenant)}/users", headers=tenant.auth, json={"user": {"email": email, **fields}}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def set_roles(
    client: httpx.AsyncClient, tenant: Tenant, user_id: str, pages: dict[str, Any]
) -> dict[str, Any]:
    response = await client.put(
        f"{org_url(tenant)}/permissions/{user_id}", headers=tenant.auth, json={"pages": pages}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def user_key(
    client: httpx.AsyncClient, tenant: Tenant, user_id: str, role: str = "write"
) -> dict[str, str]:
    """An Authorization header for a new key tied to the user."""
    response = await client.post(
        f"{org_url(tenant)}/users/{user_id}/api_keys",
        headers=tenant.auth,
        json={"api_key": {"name": "ci", "role": role}},
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"OAuth {response.json()['key']}"}
