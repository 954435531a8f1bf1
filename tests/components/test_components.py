"""Components: every route, every field, ordering, status history and its outbox events."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from app.core.db import Database
from app.models import ComponentStatusChange, OutboxEvent, Page
from tests.api.test_auth import assert_error
from tests.conftest import Tenant

COMPONENT_FIELDS = {
    "id", "page_id", "group_id", "created_at", "updated_at", "group", "name", "description",
    "position", "status", "showcase", "only_show_if_degraded", "automation_email", "start_date",
}  # fmt: skip


async def create(
    client: httpx.AsyncClient, tenant: Tenant, name: str, **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/v1/pages/{tenant.page_id}/components",
        headers=tenant.auth,
        json={"component": {"name": name, **fields}},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def patch(
    client: httpx.AsyncClient, tenant: Tenant, component_id: str, **fields: Any
) -> httpx.Response:
    return await client.patch(
        f"/v1/pages/{tenant.page_id}/components/{component_id}",
        headers=tenant.auth,
        json={"component": fields},
    )


async def counts(db: Database, component_id: str | None = None) -> tuple[int, int]:
    async with db.sessionmaker() as session:
        history = select(func.count()).select_from(ComponentStatusChange)
        if component_id:
            history = history.where(ComponentStatusChange.component_id == component_id)
        changes = await session.scalar(history.where(ComponentStatusChange.old_status.is_not(None)))
        events = await session.scalar(select(func.count()).select_from(OutboxEvent))
    return int(changes or 0), int(events or 0)


async def revision(db: Database, page_id: str) -> int:
    async with db.sessionmaker() as session:
        value = await session.scalar(select(Page.revision).where(Page.id == page_id))
    return int(value or 0)


async def test_create_returns_every_field(client: httpx.AsyncClient, tenant: Tenant) -> None:
    component = await create(
        client, tenant, "API", description="The public API", start_date="2026-01-15"
    )
    assert set(component) == COMPONENT_FIELDS
    assert component["page_id"] == tenant.page_id
    assert component["group_id"] is None
    assert component["group"] is False
    assert component["status"] == "operational"
    assert component["showcase"] is True
    assert component["only_show_if_degraded"] is False
    assert component["position"] == 1
    assert component["start_date"] == "2026-01-15"
    assert component["automation_email"].startswith("component+")
    assert component["created_at"].endswith("Z")
    again = await client.get(
        f"/v1/pages/{tenant.page_id}/components/{component['id']}.json", headers=tenant.auth
    )
    assert again.json() == component


async def test_form_encoded_create_and_status(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await client.post(
        f"/v1/pages/{tenant.page_id}/components",
        headers=tenant.auth,
        data={"component[name]": "Web", "component[status]": "degraded_performance",
              "component[showcase]": "f"},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "degraded_performance"
    assert created.json()["showcase"] is False


async def test_status_change_writes_one_history_row_and_one_event(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    component = await create(client, tenant, "API")
    other = await create(client, tenant, "Web")
    before = await revision(db, tenant.page_id)
    response = await patch(client, tenant, component["id"], status="major_outage")
    assert response.status_code == 200
    assert response.json()["status"] == "major_outage"
    assert await counts(db) == (1, 1)
    assert await revision(db, tenant.page_id) == before + 1

    async with db.sessionmaker() as session:
        change = await session.scalar(
            select(ComponentStatusChange).where(ComponentStatusChange.old_status.is_not(None))
        )
        event = await session.scalar(select(OutboxEvent))
    assert change is not None and event is not None
    assert (change.old_status, change.new_status, change.source) == (
        "operational",
        "major_outage",
        "api",
    )
    assert change.actor is not None and change.actor.startswith("api_key:")
    assert event.kind == "component.update"
    payload = event.payload
    assert payload["component_update"] == {
        "created_at": payload["component_update"]["created_at"],
        "new_status": "major_outage",
        "old_status": "operational",
        "id": change.id,
        "component_id": component["id"],
        "component_type": "Component",
    }
    assert payload["component"]["id"] == component["id"]
    assert payload["component"]["status"] == "major_outage"
    # One of two components in major outage: a mixed page, so "Partial System Outage".
    assert payload["page"] == {
        "id": tenant.page_id,
        "status_indicator": "major",
        "status_description": "Partial System Outage",
    }
    assert other["status"] == "operational"


async def test_same_status_records_nothing(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    component = await create(client, tenant, "API", status="partial_outage")
    before = await revision(db, tenant.page_id)
    response = await patch(client, tenant, component["id"], status="partial_outage")
    assert response.status_code == 200
    assert await counts(db) == (0, 0)
    assert await revision(db, tenant.page_id) == before


async def test_rename_changes_no_status(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    component = await create(client, tenant, "API")
    before = await revision(db, tenant.page_id)
    renamed = await patch(client, tenant, component["id"], name="Public API", description=None)
    assert renamed.json()["name"] == "Public API"
    assert renamed.json()["updated_at"] >= component["updated_at"]
    assert await counts(db) == (0, 0)
    assert await revision(db, tenant.page_id) == before + 1


async def test_put_is_patch(client: httpx.AsyncClient, tenant: Tenant) -> None:
    component = await create(client, tenant, "API", description="keep me")
    response = await client.put(
        f"/v1/pages/{tenant.page_id}/components/{component['id']}",
        headers=tenant.auth,
        json={"component": {"status": "under_maintenance"}},
    )
    assert response.status_code == 200
    assert response.json()["status"] == "under_maintenance"
    assert response.json()["description"] == "keep me"


async def test_bad_input_changes_nothing(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    component = await create(client, tenant, "API")
    url = f"/v1/pages/{tenant.page_id}/components/{component['id']}"
    cases: list[tuple[dict[str, Any], str]] = [
        ({"status": "on_fire"}, "component.status"),
        ({"name": "x" * 256}, "component.name"),
        ({"name": None}, "component.name"),
        ({"position": 0}, "component.position"),
        ({"start_date": "yesterday"}, "component.start_date"),
        ({"group_id": "zzzzzzzzzzzz"}, "component.group_id"),
    ]
    for fields, field in cases:
        body = assert_error(await patch(client, tenant, component["id"], **fields), 422)
        assert field in body["message"], (fields, body)
    assert (await client.get(url, headers=tenant.auth)).json() == component
    assert await counts(db) == (0, 0)
    missing = await client.post(
        f"/v1/pages/{tenant.page_id}/components", headers=tenant.auth, json={"component": {}}
    )
    assert "component.name" in assert_error(missing, 422)["message"]


async def test_unknown_and_foreign_components_are_404(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: Any
) -> None:
    other: Tenant = await make_tenant()
    theirs = await create(client, other, "Theirs")
    assert_error(
        await client.get(
            f"/v1/pages/{tenant.page_id}/components/zzzzzzzzzzzz", headers=tenant.auth
        ),
        404,
    )
    # Their component through my page: not found; through their page with my key: not found.
    assert_error(
        await client.get(
            f"/v1/pages/{tenant.page_id}/components/{theirs['id']}", headers=tenant.auth
        ),
        404,
    )
    assert_error(
        await client.get(
            f"/v1/pages/{other.page_id}/components/{theirs['id']}", headers=tenant.auth
        ),
        404,
    )
    assert_error(await patch(client, tenant, theirs["id"], status="major_outage"), 404)
    still = await client.get(
        f"/v1/pages/{other.page_id}/components/{theirs['id']}", headers=other.auth
    )
    assert still.json()["status"] == "operational"


async def test_delete_answers_204_and_closes_the_gap(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    first = await create(client, tenant, "One")
    second = await create(client, tenant, "Two")
    third = await create(client, tenant, "Three")
    deleted = await client.delete(
        f"/v1/pages/{tenant.page_id}/components/{second['id']}", headers=tenant.auth
    )
    assert deleted.status_code == 204 and deleted.content == b""
    listed = (
        await client.get(f"/v1/pages/{tenant.page_id}/components", headers=tenant.auth)
    ).json()
    assert [(c["id"], c["position"]) for c in listed] == [(first["id"], 1), (third["id"], 2)]
    assert_error(
        await client.get(
            f"/v1/pages/{tenant.page_id}/components/{second['id']}", headers=tenant.auth
        ),
        404,
    )


async def test_position_reorders_siblings(client: httpx.AsyncClient, tenant: Tenant) -> None:
    ids = [(await create(client, tenant, name))["id"] for name in "ABCD"]
    moved = await patch(client, tenant, ids[3], position=1)
    assert moved.json()["position"] == 1
    listed = (
        await client.get(f"/v1/pages/{tenant.page_id}/components", headers=tenant.auth)
    ).json()
    assert [c["id"] for c in listed] == [ids[3], ids[0], ids[1], ids[2]]
    assert [c["position"] for c in listed] == [1, 2, 3, 4]
    await patch(client, tenant, ids[3], position=99)  # clamped to the end
    listed = (
        await client.get(f"/v1/pages/{tenant.page_id}/components", headers=tenant.auth)
    ).json()
    assert [c["id"] for c in listed] == ids
    inserted = await create(client, tenant, "E", position=2)
    listed = (
        await client.get(f"/v1/pages/{tenant.page_id}/components", headers=tenant.auth)
    ).json()
    assert [c["id"] for c in listed] == [ids[0], inserted["id"], *ids[1:]]
    assert [c["position"] for c in listed] == [1, 2, 3, 4, 5]


async def test_list_paginates(client: httpx.AsyncClient, tenant: Tenant) -> None:
    ids = [(await create(client, tenant, f"C{i}"))["id"] for i in range(5)]
    url = f"/v1/pages/{tenant.page_id}/components"
    first = (await client.get(url, params={"per_page": 2}, headers=tenant.auth)).json()
    last = (await client.get(url, params={"per_page": 2, "page": 3}, headers=tenant.auth)).json()
    assert [c["id"] for c in first] == ids[:2]
    assert [c["id"] for c in last] == ids[4:]
    assert len((await client.get(url, params={"per_page": 500}, headers=tenant.auth)).json()) == 5


async def test_bulk_update_is_atomic(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    a = await create(client, tenant, "A")
    b = await create(client, tenant, "B")
    url = f"/v1/pages/{tenant.page_id}/components"
    before = await revision(db, tenant.page_id)
    bad = await client.patch(
        url,
        headers=tenant.auth,
        json={"components": {a["id"]: "major_outage", "zzzzzzzzzzzz": "major_outage"}},
    )
    assert "zzzzzzzzzzzz" in assert_error(bad, 422)["message"]
    bad_status = await client.patch(
        url, headers=tenant.auth, json={"components": {a["id"]: "major_outage", b["id"]: "meh"}}
    )
    assert_error(bad_status, 422)
    assert await counts(db) == (0, 0)
    assert await revision(db, tenant.page_id) == before

    good = await client.patch(
        url,
        headers=tenant.auth,
        json={"components": {a["id"]: "major_outage", b["id"]: "degraded_performance"}},
    )
    assert good.status_code == 200, good.text
    assert {c["id"]: c["status"] for c in good.json()} == {
        a["id"]: "major_outage",
        b["id"]: "degraded_performance",
    }
    assert await counts(db) == (2, 2)
    assert await revision(db, tenant.page_id) == before + 1  # one bump for the whole request
    form = await client.patch(
        url,
        headers={**tenant.auth, "Content-Type": "application/x-www-form-urlencoded"},
        content=f"components[{a['id']}]=operational".encode(),
    )
    assert form.status_code == 200 and form.json()[0]["status"] == "operational"
