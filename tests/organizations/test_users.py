"""Organization users and permissions: every route, and another organization's key gets 404."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.api.test_auth import assert_error
from tests.conftest import Tenant
from tests.organizations.helpers import USER_FIELDS, create_user, org_url, set_roles


async def test_users(client: httpx.AsyncClient, tenant: Tenant) -> None:
    ada = await create_user(
        client, tenant, " Ada@Example.com", password="secret", first_name="Ada", last_name="L"
    )
    assert set(ada) == USER_FIELDS
    assert ada["organization_id"] == tenant.organization_id
    assert ada["email"] == "ada@example.com"
    assert (ada["first_name"], ada["last_name"]) == ("Ada", "L")
    assert ada["created_at"].endswith("Z") and "password" not in ada
    bob = await create_user(client, tenant, "bob@example.com")
    assert bob["first_name"] is None and bob["last_name"] is None

    listed = await client.get(f"{org_url(tenant)}/users.json", headers=tenant.auth)
    assert listed.status_code == 200
    assert [u["id"] for u in listed.json()] == [ada["id"], bob["id"]]
    second = await client.get(f"{org_url(tenant)}/users?page=2&per_page=1", headers=tenant.auth)
    assert [u["id"] for u in second.json()] == [bob["id"]]

    deleted = await client.delete(f"{org_url(tenant)}/users/{ada['id']}", headers=tenant.auth)
    assert deleted.status_code == 200 and deleted.json() == ada
    assert_error(
        await client.delete(f"{org_url(tenant)}/users/{ada['id']}", headers=tenant.auth), 404
    )
    left = await client.get(f"{org_url(tenant)}/users", headers=tenant.auth)
    assert [u["id"] for u in left.json()] == [bob["id"]]


async def test_bad_users_are_422(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await create_user(client, tenant, "taken@example.com")
    url = f"{org_url(tenant)}/users"
    body: Any
    for body in (
        {},
        {"user": {}},
        {"user": {"email": "nope"}},
        {"user": {"email": None}},
        {"user": {"email": "TAKEN@example.com"}},
    ):
        assert_error(await client.post(url, headers=tenant.auth, json=body), 422)
    listed = await client.get(url, headers=tenant.auth)
    assert [u["email"] for u in listed.json()] == ["taken@example.com"]


async def test_permissions(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: Callable[..., Any]
) -> None:
    second_page = await client.post(
        "/v1/pages", headers=tenant.auth, json={"page": {"name": "Second"}}
    )
    second = second_page.json()["id"]
    user = await create_user(client, tenant, "roles@example.com")
    url = f"{org_url(tenant)}/permissions/{user['id']}"

    empty = await client.get(url, headers=tenant.auth)
    assert empty.status_code == 200
    assert empty.json() == {
        "user_id": user["id"],
        "pages": [],
        "data": {"user_id": user["id"], "pages": []},
    }

    body = await set_roles(
        client,
        tenant,
        user["id"],
        {tenant.page_id: {"incident_manager": True, "maintenance_manager": True}, second: {}},
    )
    pages = [
        {
            "page_id": tenant.page_id,
            "page_configuration": False,
            "incident_manager": True,
            "maintenance_manager": True,
        },
        {
            "page_id": second,
            "page_configuration": False,
            "incident_manager": False,
            "maintenance_manager": False,
        },
    ]
    assert body == {
        "user_id": user["id"],
        "pages": pages,
        "data": {"user_id": user["id"], "pages": pages},
    }
    assert (await client.get(f"{url}.json", headers=tenant.auth)).json() == body

    # Pages left out lose access; form encoding works too.
    form = await client.put(
        url,
        headers={"Content-Type": "application/x-www-form-urlencoded", **tenant.auth},
        content=f"pages[{second}][page_configuration]=true",
    )
    assert form.status_code == 200, form.text
    assert form.json()["pages"] == [
        {
            "page_id": second,
            "page_configuration": True,
            "incident_manager": False,
            "maintenance_manager": False,
        }
    ]

    other: Tenant = await make_tenant()
    pages_body: Any
    for pages_body in (
        {other.page_id: {}},
        {"nope": {}},
        "x",
        {second: {"incident_manager": "maybe"}},
    ):
        assert_error(await client.put(url, headers=tenant.auth, json={"pages": pages_body}), 422)
    assert_error(await client.put(url, headers=tenant.auth, json={}), 422)
    assert (await client.get(url, headers=tenant.auth)).json()["pages"][0]["page_id"] == second
    assert_error(await client.get(f"{org_url(tenant)}/permissions/nope", headers=tenant.auth), 404)


async def test_another_organization_is_404(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: Callable[..., Any]
) -> None:
    other: Tenant = await make_tenant()
    theirs = await create_user(client, other, "theirs@example.com")
    mine = await create_user(client, tenant, "mine@example.com")
    url = org_url(other)
    assert_error(await client.get(f"{url}/users", headers=tenant.auth), 404)
    assert_error(
        await client.post(f"{url}/users", headers=tenant.auth, json={"user": {"email": "a@b.co"}}),
        404,
    )
    assert_error(await client.delete(f"{url}/users/{theirs['id']}", headers=tenant.auth), 404)
    assert_error(await client.get(f"{url}/permissions/{theirs['id']}", headers=tenant.auth), 404)
    assert_error(
        await client.put(
            f"{url}/permissions/{theirs['id']}", headers=tenant.auth, json={"pages": {}}
        ),
        404,
    )
    # A user of another organization, through the right organization's id, is still not ours.
    assert_error(
        await client.delete(f"{org_url(tenant)}/users/{theirs['id']}", headers=tenant.auth), 404
    )
    assert_error(
        await client.post(f"{url}/users/{mine['id']}/api_keys", headers=tenant.auth, json={}), 404
    )
    assert_error(await client.get(f"{org_url(tenant)}/users"), 401)
