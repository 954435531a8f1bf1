"""visible_component_ids / visible_metric_ids: what a viewer of an audience-specific page may see,
for the public read path."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from app.audiences.service import visible_component_ids, visible_metric_ids
from app.core.db import Database
from tests.audiences.helpers import base, create_group, create_user
from tests.components.test_components import create as create_component
from tests.conftest import Tenant
from tests.metrics.helpers import create_metric


async def test_visibility(client: httpx.AsyncClient, tenant: Tenant, db: Database) -> None:
    page_id = tenant.page_id
    api = (await create_component(client, tenant, "API"))["id"]
    web = (await create_component(client, tenant, "Web"))["id"]
    db_component = (await create_component(client, tenant, "Database"))["id"]
    group_row = await client.post(
        f"{base(tenant)}/component-groups",
        headers=tenant.auth,
        json={"component_group": {"name": "Backend", "components": [db_component]}},
    )
    backend = group_row.json()["id"]
    grouped = (await create_component(client, tenant, "Queue", group_id=backend))["id"]
    latency = (await create_metric(client, tenant))["id"]

    async def components(user: str | None, groups: list[str]) -> set[str] | None:
        async with db.sessionmaker() as session:
            return await visible_component_ids(
                session, page_id, page_access_user_id=user, group_ids=groups
            )

    async def metrics(user: str | None, groups: list[str]) -> set[str] | None:
        async with db.sessionmaker() as session:
            return await visible_metric_ids(
                session, page_id, page_access_user_id=user, group_ids=groups
            )

    # No audience yet: the page is not audience-specific, everyone sees everything.
    assert await components(None, []) is None
    assert await metrics(None, []) is None

    partners = await create_group(client, tenant, "Partners", component_ids=[web])
    staff = await create_group(client, tenant, "Staff", component_ids=[backend])
    ada = await create_user(
        client, tenant, "ada@example.com", page_access_group_ids=[partners["id"]]
    )
    bob = await create_user(client, tenant, "bob@example.com")
    await client.patch(
        f"{base(tenant)}/page_access_users/{ada['id']}/components",
        headers=tenant.auth,
        json={"component_ids": [api]},
    )
    await client.patch(
        f"{base(tenant)}/page_access_users/{bob['id']}/metrics",
        headers=tenant.auth,
        json={"metric_ids": [latency]},
    )

    assert await components(None, []) == set()  # anonymous: nothing
    assert await metrics(None, []) == set()
    # Direct grants plus those of the groups the user belongs to.
    assert await components(ada["id"], []) == {api, web}
    assert await components(bob["id"], []) == set()
    assert await metrics(bob["id"], []) == {latency}
    assert await metrics(ada["id"], []) == set()
    # Groups named by the caller (e.g. from a sign-in) count too; a granted component group
    # brings its members.
    assert await components(None, [staff["id"]]) == {backend, db_component, grouped}
    assert await components(bob["id"], [staff["id"]]) == {backend, db_component, grouped}

    # A granted member brings its group (the container it is shown in), not its siblings.
    await client.patch(
        f"{base(tenant)}/page_access_users/{bob['id']}/components",
        headers=tenant.auth,
        json={"component_ids": [grouped]},
    )
    assert await components(bob["id"], []) == {grouped, backend}


async def test_visibility_ignores_other_pages(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: Callable[..., Any], db: Database
) -> None:
    other: Tenant = await make_tenant()
    theirs = (await create_component(client, other, "Theirs"))["id"]
    their_group = await create_group(client, other, "Theirs", component_ids=[theirs])
    their_user = await create_user(
        client, other, "x@example.com", page_access_group_ids=[their_group["id"]]
    )
    await create_user(client, tenant, "mine@example.com")
    async with db.sessionmaker() as session:
        seen = await visible_component_ids(
            session,
            tenant.page_id,
            page_access_user_id=their_user["id"],
            group_ids=[their_group["id"]],
        )
    assert seen == set()
