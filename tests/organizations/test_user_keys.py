"""API keys tied to a user carry the user's permissions: pages the user may not see are 404,
changes the user's roles do not allow are 403, and keys not tied to a user work as before."""

from __future__ import annotations

import httpx

from tests.api.test_auth import assert_error
from tests.conftest import Tenant
from tests.organizations.helpers import create_user, org_url, set_roles, user_key

FULL = {"page_configuration": True, "incident_manager": True, "maintenance_manager": True}


async def test_key_is_created_once_and_tied_to_its_user(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    user = await create_user(client, tenant, "keys@example.com")
    response = await client.post(
        f"{org_url(tenant)}/users/{user['id']}/api_keys", headers=tenant.auth
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"id", "organization_id", "user_id", "name", "role", "key", "created_at"}
    assert body["user_id"] == user["id"] and body["role"] == "write" and len(body["key"]) == 64
    bad = await client.post(
        f"{org_url(tenant)}/users/{user['id']}/api_keys",
        headers=tenant.auth,
        json={"api_key": {"role": "admin"}},
    )
    assert_error(bad, 422)


async def test_read_only_user_can_read_but_not_write(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    user = await create_user(client, tenant, "reader@example.com")
    auth = await user_key(client, tenant, user["id"])
    page = f"/v1/pages/{tenant.page_id}"

    # No permission on the page yet: it does not exist for this key.
    assert_error(await client.get(page, headers=auth), 404)
    assert_error(await client.get(f"{page}/components", headers=auth), 404)

    await set_roles(client, tenant, user["id"], {tenant.page_id: {}})
    assert (await client.get(page, headers=auth)).status_code == 200
    assert (await client.get(f"{page}/components.json", headers=auth)).status_code == 200
    assert (await client.get(f"{org_url(tenant)}/users", headers=auth)).status_code == 200

    renamed = await client.patch(page, headers=auth, json={"page": {"name": "Hijacked"}})
    assert_error(renamed, 403)
    component = await client.post(
        f"{page}/components", headers=auth, json={"component": {"name": "X"}}
    )
    assert_error(component, 403)
    incident = await client.post(
        f"{page}/incidents", headers=auth, json={"incident": {"name": "Down"}}
    )
    assert_error(incident, 403)
    embed = await client.patch(
        f"{page}/status_embed_config",
        headers=auth,
        json={"status_embed_config": {"position": "top-left"}},
    )
    assert_error(embed, 403)
    assert (await client.get(page, headers=tenant.auth)).json()["name"] == "Status"


async def test_full_access_user_can_write(client: httpx.AsyncClient, tenant: Tenant) -> None:
    user = await create_user(client, tenant, "admin@example.com")
    await set_roles(client, tenant, user["id"], {tenant.page_id: FULL})
    auth = await user_key(client, tenant, user["id"])
    page = f"/v1/pages/{tenant.page_id}"
    renamed = await client.patch(page, headers=auth, json={"page": {"name": "Renamed"}})
    assert renamed.status_code == 200, renamed.text
    component = await client.post(
        f"{page}/components", headers=auth, json={"component": {"name": "API"}}
    )
    assert component.status_code == 201, component.text
    incident = await client.post(
        f"{page}/incidents.json", headers=auth, json={"incident": {"name": "Down"}}
    )
    assert incident.status_code == 201, incident.text
    viewer = await client.post(
        f"{page}/page_access_users",
        headers=auth,
        json={"page_access_user": {"email": "v@example.com"}},
    )
    assert viewer.status_code == 200, viewer.text


async def test_roles_split_incidents_from_configuration(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    user = await create_user(client, tenant, "oncall@example.com")
    await set_roles(client, tenant, user["id"], {tenant.page_id: {"incident_manager": True}})
    auth = await user_key(client, tenant, user["id"])
    page = f"/v1/pages/{tenant.page_id}"
    incident = await client.post(
        f"{page}/incidents", headers=auth, json={"incident": {"name": "Down"}}
    )
    assert incident.status_code == 201, incident.text
    component = await client.post(
        f"{page}/components", headers=auth, json={"component": {"name": "X"}}
    )
    assert_error(component, 403)

    await set_roles(client, tenant, user["id"], {tenant.page_id: {"page_configuration": True}})
    component = await client.post(
        f"{page}/components", headers=auth, json={"component": {"name": "X"}}
    )
    assert component.status_code == 201
    incident = await client.post(
        f"{page}/incidents", headers=auth, json={"incident": {"name": "Again"}}
    )
    assert_error(incident, 403)


async def test_user_keys_cannot_change_the_organization(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    user = await create_user(client, tenant, "ambitious@example.com")
    await set_roles(client, tenant, user["id"], {tenant.page_id: FULL})
    auth = await user_key(client, tenant, user["id"])
    grant = await client.put(
        f"{org_url(tenant)}/permissions/{user['id']}", headers=auth, json={"pages": {}}
    )
    assert_error(grant, 403)
    assert_error(
        await client.post(
            f"{org_url(tenant)}/users", headers=auth, json={"user": {"email": "x@y.co"}}
        ),
        403,
    )
    assert_error(await client.post("/v1/pages", headers=auth, json={"page": {"name": "Mine"}}), 403)


async def test_read_role_key_of_a_full_user_stays_read_only(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    user = await create_user(client, tenant, "both@example.com")
    await set_roles(client, tenant, user["id"], {tenant.page_id: FULL})
    auth = await user_key(client, tenant, user["id"], role="read")
    response = await client.patch(
        f"/v1/pages/{tenant.page_id}", headers=auth, json={"page": {"name": "No"}}
    )
    assert_error(response, 403)


async def test_deleting_the_user_ends_its_keys(client: httpx.AsyncClient, tenant: Tenant) -> None:
    user = await create_user(client, tenant, "leaving@example.com")
    await set_roles(client, tenant, user["id"], {tenant.page_id: FULL})
    auth = await user_key(client, tenant, user["id"])
    assert (await client.get(f"/v1/pages/{tenant.page_id}", headers=auth)).status_code == 200
    deleted = await client.delete(f"{org_url(tenant)}/users/{user['id']}", headers=tenant.auth)
    assert deleted.status_code == 200
    assert_error(await client.get(f"/v1/pages/{tenant.page_id}", headers=auth), 401)
