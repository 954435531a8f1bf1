"""The write lane for status-only component PATCH/PUT (app/components/lane.py): it answers as the
route does, writes what the route writes, and hands every other request to the route."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import func, select

from app.components.lane import ComponentStatusLane
from app.core.db import Database
from app.models import Component as ComponentRow
from app.models import ComponentStatusChange, OutboxEvent
from tests.api.test_auth import assert_error
from tests.components.test_components import create, patch, revision
from tests.conftest import Tenant

# Fields that differ between two components made alike (or move with every write).
_OWN = {"id", "name", "created_at", "updated_at", "automation_email", "position"}


def lane_of(client: httpx.AsyncClient) -> ComponentStatusLane:
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    lanes = transport.app.state.lanes  # type: ignore[attr-defined]
    return next(lane for lane in lanes if isinstance(lane, ComponentStatusLane))


async def patch_by_route(
    client: httpx.AsyncClient, tenant: Tenant, component_id: str, status: str
) -> httpx.Response:
    """The same change with the key in the query string, which the lane leaves to the route."""
    return await client.patch(
        f"/v1/pages/{tenant.page_id}/components/{component_id}",
        params={"api_key": tenant.api_key},
        json={"component": {"status": status}},
    )


async def events(db: Database) -> list[dict[str, Any]]:
    async with db.sessionmaker() as session:
        rows = await session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))
        return [row.payload for row in rows]


async def group_status(db: Database, group_id: str) -> str:
    async with db.sessionmaker() as session:
        status = await session.scalar(
            select(ComponentRow.status).where(ComponentRow.id == group_id)
        )
    assert status is not None
    return status


async def test_lane_and_route_answer_and_write_alike(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    lane = lane_of(client)
    first = await create(client, tenant, "API")
    second = await create(client, tenant, "Web")
    made = await client.post(
        f"/v1/pages/{tenant.page_id}/component-groups",
        headers=tenant.auth,
        json={"component_group": {"name": "Edge", "components": [first["id"], second["id"]]}},
    )
    assert made.status_code == 201, made.text
    group_id = made.json()["id"]
    start = await revision(db, tenant.page_id)

    answered = lane.answered
    by_lane = await patch(client, tenant, first["id"], status="major_outage")
    assert lane.answered == answered + 1
    by_route = await patch_by_route(client, tenant, second["id"], "major_outage")
    assert lane.answered == answered + 1
    assert by_lane.status_code == by_route.status_code == 200
    assert by_lane.headers["content-type"] == by_route.headers["content-type"]
    lane_body, route_body = by_lane.json(), by_route.json()
    assert set(lane_body) == set(route_body)
    assert {k: v for k, v in lane_body.items() if k not in _OWN} == {
        k: v for k, v in route_body.items() if k not in _OWN
    }
    assert lane_body["group_id"] == group_id and lane_body["status"] == "major_outage"
    assert lane_body["updated_at"] > first["updated_at"]
    got = await client.get(
        f"/v1/pages/{tenant.page_id}/components/{first['id']}", headers=tenant.auth
    )
    assert got.json() == lane_body

    assert await revision(db, tenant.page_id) == start + 2
    assert await group_status(db, group_id) == "major_outage"
    lane_event, route_event = await events(db)
    assert set(lane_event) == set(route_event) == {"page", "component_update", "component"}
    assert set(lane_event["component"]) == set(route_event["component"])
    assert lane_event["component"]["status"] == "major_outage"
    # After the first change one of two is down (mixed), after the second both are.
    assert lane_event["page"]["status_description"] == "Partial System Outage"
    assert route_event["page"]["status_description"] == "Major System Outage"
    async with db.sessionmaker() as session:
        history = list(
            await session.scalars(
                select(ComponentStatusChange)
                .where(ComponentStatusChange.old_status.is_not(None))
                .order_by(ComponentStatusChange.at)
            )
        )
    assert [(h.component_id, h.old_status, h.new_status, h.source) for h in history] == [
        (first["id"], "operational", "major_outage", "api"),
        (second["id"], "operational", "major_outage", "api"),
    ]
    assert history[0].actor == history[1].actor
    assert lane_event["component_update"]["id"] == history[0].id

    # The group's status follows its worst member, whichever path changed it.
    await patch(client, tenant, first["id"], status="operational")
    assert await group_status(db, group_id) == "major_outage"
    await patch(client, tenant, second["id"], status="degraded_performance")
    assert await group_status(db, group_id) == "degraded_performance"
    assert lane.answered == answered + 3


async def test_form_encoded_status_takes_the_lane(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    """Statuspage's own samples send `-d "component[status]=..."`; curl sends JSON typed as a form."""
    lane = lane_of(client)
    component = await create(client, tenant, "API")
    url = f"/v1/pages/{tenant.page_id}/components/{component['id']}"
    answered = lane.answered
    form = await client.patch(url, headers=tenant.auth, data={"component[status]": "major_outage"})
    curl = await client.patch(
        url,
        headers={**tenant.auth, "Content-Type": "application/x-www-form-urlencoded"},
        content=b'{"component": {"status": "operational"}}',
    )
    assert lane.answered == answered + 2
    assert (form.status_code, form.json()["status"]) == (200, "major_outage")
    assert (curl.status_code, curl.json()["status"]) == (200, "operational")
    assert [e["component_update"]["new_status"] for e in await events(db)] == [
        "major_outage",
        "operational",
    ]
    # A form with another field, or a broken one: the route, which explains.
    both = await client.patch(
        url, headers=tenant.auth, data={"component[status]": "degraded_performance", "x": "1"}
    )
    assert both.status_code == 200 and lane.answered == answered + 2
    bad = await client.patch(url, headers=tenant.auth, data={"component[status]": "on_fire"})
    assert_error(bad, 422)
    assert lane.answered == answered + 2


async def test_same_status_through_the_lane_writes_nothing(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    lane = lane_of(client)
    component = await create(client, tenant, "API", status="partial_outage")
    before = await revision(db, tenant.page_id)
    answered = lane.answered
    response = await patch(client, tenant, component["id"], status="partial_outage")
    assert lane.answered == answered + 1
    assert response.json() == component
    assert await revision(db, tenant.page_id) == before
    assert await events(db) == []


async def test_what_the_lane_does_not_handle_goes_to_the_route(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, make_tenant: Callable[..., Any]
) -> None:
    lane = lane_of(client)
    component = await create(client, tenant, "API")
    other = await create(client, tenant, "Web")
    made = await client.post(
        f"/v1/pages/{tenant.page_id}/component-groups",
        headers=tenant.auth,
        json={"component_group": {"name": "Edge", "components": [other["id"]]}},
    )
    group_id = made.json()["id"]
    stranger: Tenant = await make_tenant()
    await client.get("/v1/pages", headers=stranger.auth)  # its key is known to the process
    reader: Tenant = await make_tenant(role="read")
    await client.get("/v1/pages", headers=reader.auth)
    answered = lane.answered
    url = f"/v1/pages/{tenant.page_id}/components/{component['id']}"

    assert_error(await patch(client, tenant, group_id, status="major_outage"), 422)
    assert_error(await patch(client, tenant, "zzzzzzzzzzzz", status="major_outage"), 404)
    foreign = await client.patch(
        url, headers=stranger.auth, json={"component": {"status": "major_outage"}}
    )
    assert_error(foreign, 404)
    async with db.sessionmaker() as session, session.begin():
        theirs = ComponentRow(page_id=reader.page_id, name="Theirs", position=1, is_group=False)
        session.add(theirs)
    read_only = await client.patch(
        f"/v1/pages/{reader.page_id}/components/{theirs.id}",
        headers=reader.auth,
        json={"component": {"status": "major_outage"}},
    )
    assert_error(read_only, 403)
    assert_error(await patch(client, tenant, component["id"], status="on_fire"), 422)
    assert_error(
        await client.patch(url, headers={"Authorization": "OAuth nope"}, json={}),
        401,
    )
    assert lane.answered == answered
    assert await events(db) == []

    # Status with another field, and with an idempotency key: the route, which does both.
    both = await patch(client, tenant, component["id"], status="major_outage", name="Core API")
    assert (both.json()["status"], both.json()["name"]) == ("major_outage", "Core API")
    headers = {**tenant.auth, "Idempotency-Key": "status-1"}
    body = {"component": {"status": "operational"}}
    once = await client.patch(url, headers=headers, json=body)
    again = await client.patch(url, headers=headers, json=body)
    assert once.status_code == again.status_code == 200
    assert once.json() == again.json()
    assert lane.answered == answered
    assert len(await events(db)) == 2


async def test_rate_limit_applies_in_the_lane(
    make_client: Callable[..., Any], tenant: Tenant, db: Database
) -> None:
    client: httpx.AsyncClient = await make_client(rate_limit_per_minute=3)
    lane = lane_of(client)
    component = await create(client, tenant, "API")  # 1 of 3
    answered = lane.answered
    allowed = await patch(client, tenant, component["id"], status="major_outage")  # 2 of 3
    assert allowed.headers["X-RateLimit-Limit"] == "3"
    assert allowed.headers["X-RateLimit-Remaining"] == "1"
    await patch(client, tenant, component["id"], status="operational")  # 3 of 3
    limited = await patch(client, tenant, component["id"], status="partial_outage")
    assert_error(limited, 420)
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert lane.answered == answered + 3
    assert [e["component_update"]["new_status"] for e in await events(db)] == [
        "major_outage",
        "operational",
    ]


async def test_concurrent_changes_keep_one_chained_history(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    """Many writers on one component: every answered change is one link of one chain of events,
    each starting from the status the previous one left, and the revision counts them all."""
    component = await create(client, tenant, "API")
    before = await revision(db, tenant.page_id)
    statuses = ["major_outage", "operational", "partial_outage", "degraded_performance"] * 10
    answers = await asyncio.gather(
        *(patch(client, tenant, component["id"], status=status) for status in statuses)
    )
    assert {answer.status_code for answer in answers} == {200}
    chain = [e["component_update"] for e in await events(db)]
    assert chain, "no change was recorded"
    current = "operational"
    for link in chain:
        assert link["old_status"] == current
        assert link["new_status"] != current
        current = link["new_status"]
    final = await client.get(
        f"/v1/pages/{tenant.page_id}/components/{component['id']}", headers=tenant.auth
    )
    assert final.json()["status"] == current
    async with db.sessionmaker() as session:
        history = await session.scalar(
            select(func.count())
            .select_from(ComponentStatusChange)
            .where(ComponentStatusChange.old_status.is_not(None))
        )
    assert history == len(chain)
    assert await revision(db, tenant.page_id) == before + len(chain)
