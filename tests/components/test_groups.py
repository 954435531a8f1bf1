"""Component groups: membership rules, ordering, derived status, and how components list them."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.test_auth import assert_error
from tests.components.test_components import create, patch
from tests.conftest import Tenant

GROUP_FIELDS = {
    "id",
    "page_id",
    "name",
    "description",
    "components",
    "position",
    "created_at",
    "updated_at",
}


async def make_group(
    client: httpx.AsyncClient, tenant: Tenant, name: str, members: list[str], **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/v1/pages/{tenant.page_id}/component-groups",
        headers=tenant.auth,
        json={"component_group": {"name": name, "components": members}, **extra},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def get_component(client: httpx.AsyncClient, tenant: Tenant, cid: str) -> dict[str, Any]:
    response = await client.get(f"/v1/pages/{tenant.page_id}/components/{cid}", headers=tenant.auth)
    body: dict[str, Any] = response.json()
    return body


async def listing(client: httpx.AsyncClient, tenant: Tenant) -> list[dict[str, Any]]:
    response = await client.get(f"/v1/pages/{tenant.page_id}/components", headers=tenant.auth)
    body: list[dict[str, Any]] = response.json()
    return body


async def test_create_group_moves_components(client: httpx.AsyncClient, tenant: Tenant) -> None:
    a = await create(client, tenant, "A")
    b = await create(client, tenant, "B")
    c = await create(client, tenant, "C")
    group = await make_group(client, tenant, "Backend", [b["id"], a["id"]], description="Servers")
    assert set(group) == GROUP_FIELDS
    assert group["components"] == [b["id"], a["id"]]
    assert group["description"] == "Servers"  # top-level description, as in the spec
    assert group["position"] == 2  # after C, the remaining top-level component
    assert (await get_component(client, tenant, a["id"]))["group_id"] == group["id"]
    rows = await listing(client, tenant)
    assert [(r["id"], r["group"], r["group_id"]) for r in rows] == [
        (c["id"], False, None),
        (group["id"], True, None),
        (b["id"], False, group["id"]),
        (a["id"], False, group["id"]),
    ]
    assert [r["position"] for r in rows] == [1, 2, 1, 2]
    fetched = await client.get(
        f"/v1/pages/{tenant.page_id}/component-groups/{group['id']}.json", headers=tenant.auth
    )
    assert fetched.json() == group


async def test_description_inside_the_envelope(client: httpx.AsyncClient, tenant: Tenant) -> None:
    a = await create(client, tenant, "A")
    response = await client.post(
        f"/v1/pages/{tenant.page_id}/component-groups",
        headers=tenant.auth,
        data={
            "component_group[name]": "Form group",
            "component_group[description]": "Inside",
            "component_group[components][]": a["id"],
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["description"] == "Inside"
    assert response.json()["components"] == [a["id"]]


async def test_invalid_groups_are_422_and_change_nothing(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: Any
) -> None:
    a = await create(client, tenant, "A")
    other: Tenant = await make_tenant()
    theirs = await create(client, other, "Theirs")
    group = await make_group(client, tenant, "G", [a["id"]])
    url = f"/v1/pages/{tenant.page_id}/component-groups"
    cases = [
        ({"component_group": {"name": "Empty", "components": []}}, "at least one"),
        ({"component_group": {"name": "No list"}}, "component_group.components"),
        ({"component_group": {"name": "Foreign", "components": [theirs["id"]]}}, theirs["id"]),
        ({"component_group": {"name": "Nested", "components": [group["id"]]}}, "nested"),
        ({"component_group": {"components": [a["id"]]}}, "component_group.name"),
    ]
    before = await listing(client, tenant)
    for body, text in cases:
        response = await client.post(url, headers=tenant.auth, json=body)
        assert text in assert_error(response, 422)["message"], body
    assert await listing(client, tenant) == before
    assert_error(await patch(client, tenant, group["id"], group_id=group["id"]), 422)
    b = await create(client, tenant, "B")
    assert_error(await patch(client, tenant, b["id"], group_id=a["id"]), 422)  # not a group
    assert_error(await patch(client, tenant, b["id"], group_id=theirs["id"]), 422)
    emptied = await client.patch(
        f"{url}/{group['id']}", headers=tenant.auth, json={"component_group": {"components": []}}
    )
    assert_error(emptied, 422)
    assert (await get_component(client, tenant, a["id"]))["group_id"] == group["id"]


async def test_group_routes_404(client: httpx.AsyncClient, tenant: Tenant) -> None:
    a = await create(client, tenant, "A")
    url = f"/v1/pages/{tenant.page_id}/component-groups"
    assert_error(await client.get(f"{url}/zzzzzzzzzzzz", headers=tenant.auth), 404)
    assert_error(await client.get(f"{url}/{a['id']}", headers=tenant.auth), 404)  # not a group
    assert_error(await client.delete(f"{url}/{a['id']}", headers=tenant.auth), 404)


async def test_membership_through_group_id(client: httpx.AsyncClient, tenant: Tenant) -> None:
    a = await create(client, tenant, "A")
    b = await create(client, tenant, "B")
    c = await create(client, tenant, "C")
    g1 = await make_group(client, tenant, "G1", [a["id"], b["id"]])
    g2 = await make_group(client, tenant, "G2", [c["id"]])
    moved = await patch(client, tenant, c["id"], group_id=g1["id"])
    assert moved.json()["group_id"] == g1["id"] and moved.json()["position"] == 3
    # G2 lost its only member: a group cannot be empty, so it is gone (as in Statuspage).
    assert_error(
        await client.get(
            f"/v1/pages/{tenant.page_id}/component-groups/{g2['id']}", headers=tenant.auth
        ),
        404,
    )
    released = await patch(client, tenant, a["id"], group_id="null")  # Statuspage's spelling
    assert released.json()["group_id"] is None
    group = await client.get(
        f"/v1/pages/{tenant.page_id}/component-groups/{g1['id']}", headers=tenant.auth
    )
    assert group.json()["components"] == [b["id"], c["id"]]
    rows = await listing(client, tenant)
    assert [r["id"] for r in rows] == [g1["id"], b["id"], c["id"], a["id"]]
    assert [r["position"] for r in rows] == [1, 1, 2, 2]
    back = await patch(client, tenant, a["id"], group_id=g1["id"], position=1)
    assert back.json()["position"] == 1
    group = await client.get(
        f"/v1/pages/{tenant.page_id}/component-groups/{g1['id']}", headers=tenant.auth
    )
    assert group.json()["components"] == [a["id"], b["id"], c["id"]]


async def test_update_group_replaces_members(client: httpx.AsyncClient, tenant: Tenant) -> None:
    a = await create(client, tenant, "A")
    b = await create(client, tenant, "B")
    group = await make_group(client, tenant, "G", [a["id"]])
    url = f"/v1/pages/{tenant.page_id}/component-groups/{group['id']}"
    updated = await client.patch(
        url,
        headers=tenant.auth,
        json={"description": "new", "component_group": {"name": "G!", "components": [b["id"]]}},
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["components"] == [b["id"]]
    assert updated.json()["name"] == "G!" and updated.json()["description"] == "new"
    assert (await get_component(client, tenant, a["id"]))["group_id"] is None
    put = await client.put(url, headers=tenant.auth, json={"component_group": {"name": "G2"}})
    assert put.json()["name"] == "G2" and put.json()["components"] == [b["id"]]


async def test_delete_group_releases_members(client: httpx.AsyncClient, tenant: Tenant) -> None:
    x = await create(client, tenant, "X")
    a = await create(client, tenant, "A")
    b = await create(client, tenant, "B")
    group = await make_group(client, tenant, "G", [a["id"], b["id"]])
    deleted = await client.delete(
        f"/v1/pages/{tenant.page_id}/component-groups/{group['id']}", headers=tenant.auth
    )
    assert deleted.status_code == 200
    assert deleted.json() == group
    rows = await listing(client, tenant)
    assert [(r["id"], r["group_id"], r["position"]) for r in rows] == [
        (x["id"], None, 1),
        (a["id"], None, 2),
        (b["id"], None, 3),
    ]


async def test_deleting_the_last_member_deletes_the_group(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    a = await create(client, tenant, "A")
    group = await make_group(client, tenant, "G", [a["id"]])
    await client.delete(f"/v1/pages/{tenant.page_id}/components/{a['id']}", headers=tenant.auth)
    assert await listing(client, tenant) == []
    assert_error(
        await client.get(
            f"/v1/pages/{tenant.page_id}/component-groups/{group['id']}", headers=tenant.auth
        ),
        404,
    )


async def test_group_status_follows_members(client: httpx.AsyncClient, tenant: Tenant) -> None:
    a = await create(client, tenant, "A")
    b = await create(client, tenant, "B")
    group = await make_group(client, tenant, "G", [a["id"], b["id"]])
    await patch(client, tenant, a["id"], status="degraded_performance")
    await patch(client, tenant, b["id"], status="major_outage")
    assert (await get_component(client, tenant, group["id"]))["status"] == "major_outage"
    await patch(client, tenant, b["id"], status="operational")
    row = await get_component(client, tenant, group["id"])
    assert row["status"] == "degraded_performance" and row["group"] is True
    assert_error(await patch(client, tenant, group["id"], status="operational"), 422)
    renamed = await patch(client, tenant, group["id"], name="Renamed group")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Renamed group"


async def test_list_groups(client: httpx.AsyncClient, tenant: Tenant) -> None:
    a = await create(client, tenant, "A")
    b = await create(client, tenant, "B")
    g1 = await make_group(client, tenant, "G1", [a["id"]])
    g2 = await make_group(client, tenant, "G2", [b["id"]])
    url = f"/v1/pages/{tenant.page_id}/component-groups"
    listed = (await client.get(url, headers=tenant.auth)).json()
    # Creating G2 took B off the top level, so G1 moved up to position 1.
    assert [(g["id"], g["position"]) for g in listed] == [(g1["id"], 1), (g2["id"], 2)]
    for group in listed:
        assert (await client.get(f"{url}/{group['id']}", headers=tenant.auth)).json() == group
    paged = await client.get(f"{url}?per_page=1&page=2", headers=tenant.auth)
    assert paged.json() == [listed[1]]
