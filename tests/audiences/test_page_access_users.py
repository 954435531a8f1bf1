"""Page access users: every route, their components and metrics with Statuspage's inverted verbs
(PATCH and PUT add, POST replaces, DELETE removes), and the 404/409/422 cases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import func, select

from app.core.db import Database
from app.models import PageAccessUser
from tests.api.test_auth import assert_error
from tests.audiences.helpers import USER_FIELDS, base, create_group, create_user, get_json
from tests.components.test_components import COMPONENT_FIELDS, revision
from tests.components.test_components import create as create_component
from tests.conftest import Tenant
from tests.metrics.helpers import METRIC_FIELDS, create_metric


async def user_count(db: Database) -> int:
    async with db.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(PageAccessUser)) or 0)


async def test_create_answers_200_with_every_field(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    before = await revision(db, tenant.page_id)
    group = await create_group(client, tenant, "Customers")
    user = await create_user(
        client,
        tenant,
        " Ada@Example.COM ",
        external_login="ada",
        page_access_group_ids=[group["id"]],
        subscribe_to_components=True,
    )
    assert set(user) == USER_FIELDS
    assert user["email"] == "ada@example.com"
    assert user["page_id"] == tenant.page_id
    assert user["external_login"] == "ada"
    assert user["page_access_group_ids"] == [group["id"]]
    assert user["page_access_group_id"] == group["id"]
    assert user["component_ids"] == [] and user["metric_ids"] == []
    assert user["created_at"].endswith("Z")
    assert await get_json(client, tenant, f"/page_access_users/{user['id']}.json") == user
    assert await revision(db, tenant.page_id) > before


async def test_nulls_are_present(client: httpx.AsyncClient, tenant: Tenant) -> None:
    user = await create_user(client, tenant, "bob@example.com")
    assert user["external_login"] is None
    assert user["page_access_group_id"] is None
    assert user["page_access_group_ids"] == []


async def test_form_encoded_create(client: httpx.AsyncClient, tenant: Tenant) -> None:
    group = await create_group(client, tenant, "Partners")
    response = await client.post(
        f"{base(tenant)}/page_access_users",
        headers={"Content-Type": "application/x-www-form-urlencoded", **tenant.auth},
        content=(
            "page_access_user[email]=form@example.com&page_access_user[external_login]=f1"
            f"&page_access_user[page_access_group_ids][]={group['id']}"
        ),
    )
    assert response.status_code == 200, response.text
    assert response.json()["page_access_group_ids"] == [group["id"]]


async def test_list_filters_by_email_and_paginates(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    emails = [f"user{i}@example.com" for i in range(3)]
    for email in emails:
        await create_user(client, tenant, email)
    listed = await get_json(client, tenant, "/page_access_users")
    assert [u["email"] for u in listed] == emails
    assert all(set(u) == USER_FIELDS for u in listed)
    found = await get_json(client, tenant, "/page_access_users?email=USER1@example.com")
    assert [u["email"] for u in found] == ["user1@example.com"]
    assert await get_json(client, tenant, "/page_access_users?email=nobody@example.com") == []
    second = await get_json(client, tenant, "/page_access_users.json?page=2&per_page=2")
    assert [u["email"] for u in second] == ["user2@example.com"]


async def test_duplicate_email_is_409(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await create_user(client, tenant, "dup@example.com")
    response = await client.post(
        f"{base(tenant)}/page_access_users",
        headers=tenant.auth,
        json={"page_access_user": {"email": "DUP@example.com"}},
    )
    assert_error(response, 409)
    assert await user_count(db) == 1


async def test_same_email_on_another_page_is_fine(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: Callable[..., Any]
) -> None:
    other: Tenant = await make_tenant()
    await create_user(client, tenant, "both@example.com")
    await create_user(client, other, "both@example.com")


async def test_bad_input_is_422_and_changes_nothing(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: Callable[..., Any], db: Database
) -> None:
    other: Tenant = await make_tenant()
    foreign_group = await create_group(client, other, "Theirs")
    url = f"{base(tenant)}/page_access_users"
    body: Any
    for body in (
        {"page_access_user": {}},
        {"page_access_user": {"email": None}},
        {"page_access_user": {"email": "not-an-email"}},
        {"page_access_user": {"email": "x@example.com", "page_access_group_ids": "nope"}},
        {"page_access_user": {"email": "x@example.com", "page_access_group_ids": ["missing"]}},
        {
            "page_access_user": {
                "email": "x@example.com",
                "page_access_group_ids": [foreign_group["id"]],
            }
        },
        {},
    ):
        assert_error(await client.post(url, headers=tenant.auth, json=body), 422)
    assert await user_count(db) == 0


async def test_patch_and_put_update(client: httpx.AsyncClient, tenant: Tenant) -> None:
    first = await create_group(client, tenant, "First")
    second = await create_group(client, tenant, "Second")
    user = await create_user(client, tenant, "old@example.com", page_access_group_ids=[first["id"]])
    url = f"{base(tenant)}/page_access_users/{user['id']}"
    patched = await client.patch(
        url,
        headers=tenant.auth,
        json={"page_access_user": {"email": "new@example.com", "external_login": "n"}},
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["email"] == "new@example.com" and body["external_login"] == "n"
    assert body["page_access_group_ids"] == [first["id"]]  # untouched when not sent
    put = await client.put(
        url,
        headers=tenant.auth,
        json={"page_access_user": {"page_access_group_ids": [second["id"]]}},
    )
    assert put.status_code == 200, put.text
    assert put.json()["page_access_group_ids"] == [second["id"]]
    assert put.json()["email"] == "new@example.com"
    assert put.json()["updated_at"] >= user["updated_at"]


async def test_update_to_a_taken_email_is_409(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await create_user(client, tenant, "taken@example.com")
    user = await create_user(client, tenant, "mine@example.com")
    response = await client.patch(
        f"{base(tenant)}/page_access_users/{user['id']}",
        headers=tenant.auth,
        json={"page_access_user": {"email": "taken@example.com"}},
    )
    assert_error(response, 409)
    assert (await get_json(client, tenant, f"/page_access_users/{user['id']}"))[
        "email"
    ] == "mine@example.com"


async def test_delete_answers_204(client: httpx.AsyncClient, tenant: Tenant) -> None:
    user = await create_user(client, tenant, "gone@example.com")
    url = f"{base(tenant)}/page_access_users/{user['id']}"
    response = await client.delete(url, headers=tenant.auth)
    assert response.status_code == 204 and response.content == b""
    assert_error(await client.get(url, headers=tenant.auth), 404)
    assert_error(await client.delete(url, headers=tenant.auth), 404)


async def test_unknown_and_foreign_users_are_404(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: Callable[..., Any]
) -> None:
    other: Tenant = await make_tenant()
    theirs = await create_user(client, other, "theirs@example.com")
    for page_id, user_id in ((tenant.page_id, theirs["id"]), (other.page_id, theirs["id"])):
        url = f"/v1/pages/{page_id}/page_access_users/{user_id}"
        assert_error(await client.get(url, headers=tenant.auth), 404)
        assert_error(await client.get(f"{url}/components", headers=tenant.auth), 404)
        patched = await client.patch(url, headers=tenant.auth, json={"page_access_user": {}})
        assert_error(patched, 404)
    assert_error(
        await client.get(f"/v1/pages/{other.page_id}/page_access_users", headers=tenant.auth), 404
    )


async def test_component_verbs(client: httpx.AsyncClient, tenant: Tenant) -> None:
    a, b, c = [(await create_component(client, tenant, name))["id"] for name in "ABC"]
    user = await create_user(client, tenant, "viewer@example.com")
    url = f"{base(tenant)}/page_access_users/{user['id']}/components"

    added = await client.patch(url, headers=tenant.auth, json={"component_ids": [a]})
    assert added.status_code == 200, added.text
    assert set(added.json()) == USER_FIELDS
    assert added.json()["component_ids"] == [a]
    put = await client.put(url, headers=tenant.auth, json={"component_ids": [b, a]})
    assert put.status_code == 200
    assert sorted(put.json()["component_ids"]) == sorted([a, b])  # PUT adds too

    listed = await get_json(client, tenant, f"/page_access_users/{user['id']}/components")
    assert [row["id"] for row in listed] == [a, b]
    assert set(listed[0]) == COMPONENT_FIELDS

    replaced = await client.post(url, headers=tenant.auth, json={"component_ids": [c]})
    assert replaced.status_code == 201
    assert replaced.json()["component_ids"] == [c]

    await client.patch(url, headers=tenant.auth, json={"component_ids": [a, b]})
    removed = await client.request("DELETE", url, headers=tenant.auth, json={"component_ids": [a]})
    assert removed.status_code == 200
    assert sorted(removed.json()["component_ids"]) == sorted([b, c])

    one = await client.delete(f"{url}/{b}", headers=tenant.auth)
    assert one.status_code == 200 and one.json()["component_ids"] == [c]

    cleared = await client.delete(url, headers=tenant.auth)
    assert cleared.status_code == 200 and cleared.json()["component_ids"] == []


async def test_component_verbs_take_form_bodies(client: httpx.AsyncClient, tenant: Tenant) -> None:
    a = (await create_component(client, tenant, "A"))["id"]
    user = await create_user(client, tenant, "form@example.com")
    url = f"{base(tenant)}/page_access_users/{user['id']}/components"
    form = {"Content-Type": "application/x-www-form-urlencoded", **tenant.auth}
    added = await client.patch(url, headers=form, content=f"component_ids[]={a}")
    assert added.json()["component_ids"] == [a]
    emptied = await client.post(url, headers=form, content="component_ids[]=")
    assert emptied.status_code == 201 and emptied.json()["component_ids"] == []


async def test_components_of_another_page_are_422(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: Callable[..., Any]
) -> None:
    other: Tenant = await make_tenant()
    mine = (await create_component(client, tenant, "Mine"))["id"]
    theirs = (await create_component(client, other, "Theirs"))["id"]
    user = await create_user(client, tenant, "v@example.com")
    url = f"{base(tenant)}/page_access_users/{user['id']}/components"
    await client.patch(url, headers=tenant.auth, json={"component_ids": [mine]})
    for method in ("PATCH", "PUT", "POST", "DELETE"):
        response = await client.request(
            method, url, headers=tenant.auth, json={"component_ids": [mine, theirs]}
        )
        body = assert_error(response, 422)
        assert theirs in body["message"]
    for body in ({}, {"component_ids": "x"}, {"component_ids": [None]}):
        assert_error(await client.patch(url, headers=tenant.auth, json=body), 422)
    assert (await get_json(client, tenant, f"/page_access_users/{user['id']}"))[
        "component_ids"
    ] == [mine]
    assert_error(await client.delete(f"{url}/{theirs}", headers=tenant.auth), 404)


async def test_metric_verbs(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: Callable[..., Any]
) -> None:
    first = await create_metric(client, tenant, name="Latency")
    second = await create_metric(client, tenant, first["metrics_provider_id"], name="Errors")
    m1, m2 = first["id"], second["id"]
    other: Tenant = await make_tenant()
    theirs = (await create_metric(client, other, name="Theirs"))["id"]
    user = await create_user(client, tenant, "metrics@example.com")
    url = f"{base(tenant)}/page_access_users/{user['id']}/metrics"

    added = await client.patch(url, headers=tenant.auth, json={"metric_ids": [m1]})
    assert added.status_code == 200 and added.json()["metric_ids"] == [m1]
    put = await client.put(url, headers=tenant.auth, json={"metric_ids": [m2]})
    assert sorted(put.json()["metric_ids"]) == sorted([m1, m2])
    listed = await get_json(client, tenant, f"/page_access_users/{user['id']}/metrics")
    assert [m["id"] for m in listed] == [m1, m2]
    assert set(listed[0]) == METRIC_FIELDS

    replaced = await client.post(url, headers=tenant.auth, json={"metric_ids": [m2]})
    assert replaced.status_code == 201 and replaced.json()["metric_ids"] == [m2]
    assert_error(await client.post(url, headers=tenant.auth, json={"metric_ids": [theirs]}), 422)

    await client.patch(url, headers=tenant.auth, json={"metric_ids": [m1]})
    removed = await client.request("DELETE", url, headers=tenant.auth, json={"metric_ids": [m1]})
    assert removed.status_code == 200 and removed.json()["metric_ids"] == [m2]
    one = await client.delete(f"{url}/{m2}", headers=tenant.auth)
    assert one.status_code == 200 and one.json()["metric_ids"] == []
    assert_error(await client.delete(f"{url}/{theirs}", headers=tenant.auth), 404)
    await client.patch(url, headers=tenant.auth, json={"metric_ids": [m1, m2]})
    cleared = await client.delete(url, headers=tenant.auth)
    assert cleared.status_code == 200 and cleared.json()["metric_ids"] == []


async def test_component_side_routes(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: Callable[..., Any]
) -> None:
    component = await create_component(client, tenant, "API")
    u1 = await create_user(client, tenant, "u1@example.com")
    u2 = await create_user(client, tenant, "u2@example.com")
    g1 = await create_group(client, tenant, "G1")
    url = f"{base(tenant)}/components/{component['id']}"

    added = await client.post(
        f"{url}/page_access_users",
        headers=tenant.auth,
        json={"page_access_user_ids": [u1["id"], u2["id"]]},
    )
    assert added.status_code == 201, added.text
    assert added.json()["id"] == component["id"] and set(added.json()) == COMPONENT_FIELDS
    for user in (u1, u2):
        view = await get_json(client, tenant, f"/page_access_users/{user['id']}")
        assert view["component_ids"] == [component["id"]]

    removed = await client.request(
        "DELETE",
        f"{url}/page_access_users",
        headers=tenant.auth,
        json={"page_access_user_ids": [u1["id"]]},
    )
    assert removed.status_code == 200
    assert (await get_json(client, tenant, f"/page_access_users/{u1['id']}"))["component_ids"] == []
    assert (await get_json(client, tenant, f"/page_access_users/{u2['id']}"))["component_ids"] != []
    cleared = await client.delete(f"{url}/page_access_users", headers=tenant.auth)
    assert cleared.status_code == 200
    assert (await get_json(client, tenant, f"/page_access_users/{u2['id']}"))["component_ids"] == []

    groups = await client.post(
        f"{url}/page_access_groups.json",
        headers=tenant.auth,
        json={"page_access_group_ids": [g1["id"]]},
    )
    assert groups.status_code == 201
    view = await get_json(client, tenant, f"/page_access_groups/{g1['id']}")
    assert view["component_ids"] == [component["id"]]
    ungrouped = await client.delete(f"{url}/page_access_groups", headers=tenant.auth)
    assert ungrouped.status_code == 200
    assert (await get_json(client, tenant, f"/page_access_groups/{g1['id']}"))[
        "component_ids"
    ] == []

    other: Tenant = await make_tenant()
    foreign = await create_user(client, other, "x@example.com")
    response = await client.post(
        f"{url}/page_access_users",
        headers=tenant.auth,
        json={"page_access_user_ids": [foreign["id"]]},
    )
    assert_error(response, 422)
    assert_error(
        await client.post(
            f"{base(tenant)}/components/nope/page_access_groups",
            headers=tenant.auth,
            json={"page_access_group_ids": [g1["id"]]},
        ),
        404,
    )


async def test_deleting_a_component_drops_its_grants(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    component = await create_component(client, tenant, "Short-lived")
    user = await create_user(client, tenant, "g@example.com")
    url = f"{base(tenant)}/page_access_users/{user['id']}/components"
    await client.patch(url, headers=tenant.auth, json={"component_ids": [component["id"]]})
    deleted = await client.delete(
        f"{base(tenant)}/components/{component['id']}", headers=tenant.auth
    )
    assert deleted.status_code == 204
    assert (await get_json(client, tenant, f"/page_access_users/{user['id']}"))[
        "component_ids"
    ] == []
