"""Status embed config: defaults until first changed, then partial updates by PATCH or PUT."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from app.core.db import Database
from tests.api.test_auth import assert_error
from tests.components.test_components import revision
from tests.conftest import Tenant

DEFAULTS = {
    "position": "bottom-left",
    "incident_background_color": "e74c3c",
    "incident_text_color": "ffffff",
    "maintenance_background_color": "3498db",
    "maintenance_text_color": "ffffff",
}


def url(tenant: Tenant) -> str:
    return f"/v1/pages/{tenant.page_id}/status_embed_config"


async def test_defaults_then_updates(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    first = await client.get(url(tenant), headers=tenant.auth)
    assert first.status_code == 200
    assert first.json() == {"page_id": tenant.page_id, **DEFAULTS}
    before = await revision(db, tenant.page_id)

    patched = await client.patch(
        url(tenant),
        headers=tenant.auth,
        json={"status_embed_config": {"position": "top-right", "incident_text_color": "#FFF"}},
    )
    assert patched.status_code == 200, patched.text
    expected = {
        "page_id": tenant.page_id,
        **DEFAULTS,
        "position": "top-right",
        "incident_text_color": "ffffff",
    }
    assert patched.json() == expected
    assert await revision(db, tenant.page_id) == before + 1

    put = await client.put(
        f"{url(tenant)}.json",
        headers={"Content-Type": "application/x-www-form-urlencoded", **tenant.auth},
        content="status_embed_config[maintenance_background_color]=112233"
        "&status_embed_config[position]=Bottom Right",
    )
    assert put.status_code == 200, put.text
    expected |= {"maintenance_background_color": "112233", "position": "bottom-right"}
    assert put.json() == expected
    assert (await client.get(f"{url(tenant)}.json", headers=tenant.auth)).json() == expected

    unchanged = await client.patch(url(tenant), headers=tenant.auth, json={})
    assert unchanged.status_code == 200 and unchanged.json() == expected


async def test_bad_input_is_422_and_changes_nothing(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for fields in (
        {"position": "middle"},
        {"position": None},
        {"incident_background_color": "red"},
        {"maintenance_text_color": None},
        {"position": "top-left", "incident_text_color": "#12"},
    ):
        response = await client.patch(
            url(tenant), headers=tenant.auth, json={"status_embed_config": fields}
        )
        assert_error(response, 422)
    assert (await client.get(url(tenant), headers=tenant.auth)).json()["position"] == "bottom-left"


async def test_other_organization_and_read_only_keys(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: Callable[..., Any]
) -> None:
    other: Tenant = await make_tenant()
    assert_error(await client.get(url(other), headers=tenant.auth), 404)
    body = {"status_embed_config": {"position": "top-left"}}
    assert_error(await client.patch(url(other), headers=tenant.auth, json=body), 404)
    reader: Tenant = await make_tenant(role="read")
    assert (await client.get(url(reader), headers=reader.auth)).status_code == 200
    assert_error(await client.patch(url(reader), headers=reader.auth, json=body), 403)
