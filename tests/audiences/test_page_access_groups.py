"""Page access groups: every route, the lists they hold, and their components' inverted verbs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.api.test_auth import assert_error
from tests.audiences.helpers import GROUP_FIELDS, base, create_group, create_user, get_json
from tests.components.test_components import COMPONENT_FIELDS
from tests.components.test_components import create as create_component
from tests.conftest import Tenant
from tests.metrics.helpers import create_metric


async def test_group_lifecycle(client: httpx.AsyncClient, tenant: Tenant) -> None:
    component = (await create_component(client, tenant, "API"))["id"]
    metric = (await create_metric(client, tenant))["id"]
    user = await create_user(client, tenant, "member@example.com")
    group = await create_group(
        client,
        tenant,
        "Enterprise",
        external_identifier="idp-enterprise",
        component_ids=[component],
        metric_ids=[metric],
        page_access_user_ids=[user["id"]],
    )
    assert set(group) == GROUP_FIELDS
    assert group["page_id"] == tenant.page_id
    assert group["external_identifier"] == "idp-enterprise"
    assert group["component_ids"] == [component]
    assert group["metric_ids"] == [metric]
    assert group["page_access_user_ids"] == [user["id"]]
    assert await get_json(client, tenant, f"/page_access_groups/{group['id']}.json") == group
    member = await get_json(client, tenant, f"/page_access_users/{user['id']}")
    assert member["page_access_group_ids"] == [group["id"]]

    bare = await create_group(client, tenant, "Bare")
    assert bare["external_identifier"] is None
    assert bare["component_ids"] == bare["metric_ids"] == bare["page_access_user_ids"] == []
    listed = await get_json(client, tenant, "/page_access_groups")
    assert [g["id"] for g in listed] == [group["id"], bare["id"]]
    assert [
        g["id"] for g in await get_json(client, tenant, "/page_access_groups?per_page=1&page=2")
    ] == [bare["id"]]

    url = f"{base(tenant)}/page_access_groups/{group['id']}"
    patched = await client.patch(
        url, headers=tenant.auth, json={"page_access_group": {"name": "Renamed", "metric_ids": []}}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Renamed"
    assert patched.json()["metric_ids"] == []
    assert patched.json()["component_ids"] == [component]  # not sent: unchanged
    put = await client.put(
        url, headers=tenant.auth, json={"page_access_group": {"page_access_user_ids": []}}
    )
    assert put.status_code == 200 and put.json()["page_access_user_ids"] == []
    assert put.json()["name"] == "Renamed"

    deleted = await client.delete(url, headers=tenant.auth)
    assert deleted.status_code == 200
    assert deleted.json()["id"] == group["id"] and set(deleted.json()) == GROUP_FIELDS
    assert_error(await client.get(url, headers=tenant.auth), 404)
    # Its users stay.
    assert (await get_json(client, tenant, f"/page_access_users/{user['id']}"))["id"] == user["id"]


async def test_bad_input_is_422_and_changes_nothing(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: Callable[..., Any]
) -> None:
    other: Tenant = await make_tenant()
    theirs = (await create_component(client, other, "Theirs"))["id"]
    their_user = (await create_user(client, other, "t@example.com"))["id"]
    their_metric = (await create_metric(client, other))["id"]
    url = f"{base(tenant)}/page_access_groups"
    body: Any
    for body in (
        {"page_access_group": {}},
        {"page_access_group": {"name": ""}},
        {"page_access_group": {"name": "X", "component_ids": [theirs]}},
        {"page_access_group": {"name": "X", "metric_ids": [their_metric]}},
        {"page_access_group": {"name": "X", "page_access_user_ids": [their_user]}},
        {"page_access_group": {"name": "X", "component_ids": {"a": 1}}},
    ):
        assert_error(await client.post(url, headers=tenant.auth, json=body), 422)
    assert await get_json(client, tenant, "/page_access_groups") == []

    group = await create_group(client, tenant, "Mine")
    patched = await client.patch(
        f"{url}/{group['id']}",
        headers=tenant.auth,
        json={"page_access_group": {"name": "Changed", "component_ids": [theirs]}},
    )
    assert_error(patched, 422)
    null_name = await client.patch(
        f"{url}/{group['id']}", headers=tenant.auth, json={"page_access_group": {"name": None}}
    )
    assert_error(null_name, 422)
    assert (await get_json(client, tenant, f"/page_access_groups/{group['id']}"))["name"] == "Mine"
    assert_error(await client.get(f"{url}/nope", headers=tenant.auth), 404)
    foreign = await create_group(client, other, "Theirs")
    assert_error(await client.get(f"{url}/{foreign['id']}", headers=tenant.auth), 404)
    assert_error(await client.delete(f"{url}/{foreign['id']}", headers=tenant.auth), 404)


async def test_component_verbs(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: Callable[..., Any]
) -> None:
    a, b, c = [(await create_component(client, tenant, name))["id"] for name in "ABC"]
    other: Tenant = await make_tenant()
    theirs = (await create_component(client, other, "Theirs"))["id"]
    group = await create_group(client, tenant, "Viewers")
    url = f"{base(tenant)}/page_access_groups/{group['id']}/components"

    added = await client.patch(url, headers=tenant.auth, json={"component_ids": [a]})
    assert added.status_code == 200 and set(added.json()) == GROUP_FIELDS
    assert added.json()["component_ids"] == [a]
    put = await client.put(url, headers=tenant.auth, json={"component_ids": [b]})
    assert put.status_code == 200 and sorted(put.json()["component_ids"]) == sorted([a, b])
    listed = await get_json(client, tenant, f"/page_access_groups/{group['id']}/components")
    assert [row["id"] for row in listed] == [a, b] and set(listed[0]) == COMPONENT_FIELDS
    assert (
        len(
            await get_json(
                client, tenant, f"/page_access_groups/{group['id']}/components?per_page=1"
            )
        )
        == 1
    )

    replaced = await client.post(url, headers=tenant.auth, json={"component_ids": [c]})
    assert replaced.status_code == 201 and replaced.json()["component_ids"] == [c]
    for method in ("PATCH", "PUT", "POST", "DELETE"):
        response = await client.request(
            method, url, headers=tenant.auth, json={"component_ids": [theirs]}
        )
        assert_error(response, 422)
    assert (await get_json(client, tenant, f"/page_access_groups/{group['id']}"))[
        "component_ids"
    ] == [c]

    await client.patch(url, headers=tenant.auth, json={"component_ids": [a, b]})
    removed = await client.request("DELETE", url, headers=tenant.auth, json={"component_ids": [a]})
    assert removed.status_code == 200 and sorted(removed.json()["component_ids"]) == sorted([b, c])
    one = await client.delete(f"{url}/{b}.json", headers=tenant.auth)
    assert one.status_code == 200 and one.json()["component_ids"] == [c]
    cleared = await client.delete(url, headers=tenant.auth)
    assert cleared.status_code == 200 and cleared.json()["component_ids"] == []
    assert_error(await client.delete(f"{url}/{theirs}", headers=tenant.auth), 404)
