"""Uptime from the status history, against hand-computed figures, in a non-UTC page time zone.

The fixture, on a page in America/New_York (UTC-5 in January), for component A created on
2026-01-01 00:00 local:
  Jan 10 23:00 -> Jan 11 01:00  major_outage       (1 h on Jan 10, 1 h on Jan 11; incident inc0000000a1)
  Jan 12 10:00 -> Jan 12 12:00  under_maintenance  (2 h, left out of the total)
  Jan 13 12:00 -> Jan 13 18:00  partial_outage     (6 h, counted at 30 %)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import update

from app.core.db import Database
from app.models import Component, ComponentStatusChange
from tests.api.test_auth import assert_error
from tests.components.test_components import create
from tests.components.test_groups import make_group
from tests.conftest import Tenant

NEW_YORK = ZoneInfo("America/New_York")


def local(day: int, hour: int) -> datetime:
    return datetime(2026, 1, day, hour, tzinfo=NEW_YORK).astimezone(UTC)


async def backdate(
    db: Database, component_id: str, changes: list[tuple[datetime, str, str, str | None]]
) -> None:
    created = local(1, 0)
    async with db.sessionmaker() as session, session.begin():
        await session.execute(
            update(Component).where(Component.id == component_id).values(created_at=created)
        )
        await session.execute(
            update(ComponentStatusChange)
            .where(ComponentStatusChange.component_id == component_id)
            .values(at=created)
        )
        for at, old, new, incident in changes:
            session.add(
                ComponentStatusChange(
                    component_id=component_id, page_id="x", old_status=old, new_status=new,
                    at=at, source="api", actor="test", incident_id=incident,
                )
            )  # fmt: skip


@pytest.fixture
async def fixture(client: httpx.AsyncClient, tenant: Tenant, db: Database) -> dict[str, Any]:
    await client.patch(
        f"/v1/pages/{tenant.page_id}",
        headers=tenant.auth,
        json={"page": {"time_zone": "America/New_York"}},
    )
    a = await create(client, tenant, "A")
    b = await create(client, tenant, "B")
    await backdate(
        db,
        a["id"],
        [
            (local(10, 23), "operational", "major_outage", "inc0000000a1"),
            (local(11, 1), "major_outage", "operational", None),
            (local(12, 10), "operational", "under_maintenance", None),
            (local(12, 12), "under_maintenance", "operational", None),
            (local(13, 12), "operational", "partial_outage", None),
            (local(13, 18), "partial_outage", "operational", None),
        ],
    )
    await backdate(db, b["id"], [])
    return {"a": a, "b": b}


async def uptime(
    client: httpx.AsyncClient, tenant: Tenant, component_id: str, **params: str
) -> httpx.Response:
    return await client.get(
        f"/v1/pages/{tenant.page_id}/components/{component_id}/uptime",
        headers=tenant.auth,
        params=params,
    )


async def test_four_days_across_midnight(
    client: httpx.AsyncClient, tenant: Tenant, fixture: dict[str, Any]
) -> None:
    response = await uptime(
        client, tenant, fixture["a"]["id"], start="2026-01-10", end="2026-01-13"
    )
    assert response.status_code == 200, response.text
    # 4 days = 345,600 s; minus 7,200 s of maintenance = 338,400 s measured;
    # down = 7,200 + 0.3 * 21,600 = 13,680 s -> 95.957...%
    assert response.json() == {
        "id": fixture["a"]["id"],
        "name": "A",
        "range_start": "2026-01-10",
        "range_end": "2026-01-13",
        "uptime_percentage": 95.96,
        "major_outage": 7200,
        "partial_outage": 21600,
        "warnings": [],
        "related_events": [{"id": "inc0000000a1"}],
    }


async def test_one_local_day(
    client: httpx.AsyncClient, tenant: Tenant, fixture: dict[str, Any]
) -> None:
    # Jan 11 in New York holds only the second hour of the outage: 82,800 / 86,400 = 95.833%.
    body = (
        await uptime(client, tenant, fixture["a"]["id"], start="2026-01-11", end="2026-01-11")
    ).json()
    assert (body["uptime_percentage"], body["major_outage"], body["partial_outage"]) == (
        95.83,
        3600,
        0,
    )
    assert body["related_events"] == []  # the incident began on Jan 10
    # Jan 12: the maintenance window is excluded, nothing else happened.
    body = (
        await uptime(client, tenant, fixture["a"]["id"], start="2026-01-12", end="2026-01-12")
    ).json()
    assert (body["uptime_percentage"], body["major_outage"]) == (100.0, 0)


async def test_partial_dates_and_warnings(
    client: httpx.AsyncClient, tenant: Tenant, fixture: dict[str, Any]
) -> None:
    body = (await uptime(client, tenant, fixture["a"]["id"], start="2025-12", end="2026-01")).json()
    assert body["range_start"] == "2026-01-01"  # adjusted to the component's start
    assert body["range_end"] == "2026-01-31"
    assert any("Start date was adjusted" in w for w in body["warnings"])
    # 31 days, 2 h maintenance: (2,678,400 - 7,200 - 13,680) / (2,678,400 - 7,200) = 99.488%
    assert body["uptime_percentage"] == 99.49
    future = (await uptime(client, tenant, fixture["a"]["id"], start="2026-11", end="2030")).json()
    assert "End date was adjusted to today." in future["warnings"]
    before = (
        await uptime(client, tenant, fixture["a"]["id"], start="2025-10", end="2025-11")
    ).json()
    assert before["uptime_percentage"] == 100.0
    assert any("did not exist" in w for w in before["warnings"])


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({"start": "2026-13-01"}, "start"),
        ({"start": "last week"}, "start"),
        ({"end": "2026-02-30"}, "end"),
        ({"start": "2026-01-20", "end": "2026-01-10"}, "after"),
        ({"start": "2025-06-01", "end": "2026-01-10"}, "six calendar months"),
        ({"start": "1969-12-31"}, "1970"),
    ],
)
async def test_bad_ranges_are_422(
    client: httpx.AsyncClient,
    tenant: Tenant,
    fixture: dict[str, Any],
    params: dict[str, str],
    text: str,
) -> None:
    body = assert_error(await uptime(client, tenant, fixture["a"]["id"], **params), 422)
    assert text in body["message"]


async def test_uptime_needs_showcase(client: httpx.AsyncClient, tenant: Tenant) -> None:
    hidden = await create(client, tenant, "Hidden", showcase=False)
    assert "showcase" in assert_error(await uptime(client, tenant, hidden["id"]), 422)["message"]


async def test_default_range_is_90_days(
    client: httpx.AsyncClient, tenant: Tenant, fixture: dict[str, Any]
) -> None:
    body = (await uptime(client, tenant, fixture["b"]["id"])).json()
    today = datetime.now(NEW_YORK).date()
    assert body["range_end"] == today.isoformat()
    assert body["range_start"] == (today - timedelta(days=90)).isoformat()
    assert body["uptime_percentage"] == 100.0 and body["warnings"] == []


async def test_group_uptime_averages_members(
    client: httpx.AsyncClient, tenant: Tenant, fixture: dict[str, Any]
) -> None:
    group = await make_group(client, tenant, "G", [fixture["a"]["id"], fixture["b"]["id"]])
    response = await client.get(
        f"/v1/pages/{tenant.page_id}/component-groups/{group['id']}/uptime",
        headers=tenant.auth,
        params={"start": "2026-01-10", "end": "2026-01-11"},
    )
    assert response.status_code == 200, response.text
    # A: 172,800 s, 7,200 s down -> 95.833%; B: 100% -> mean 97.92%
    assert response.json() == {
        "id": group["id"],
        "name": "G",
        "range_start": "2026-01-10",
        "range_end": "2026-01-11",
        "uptime_percentage": 97.92,
        "major_outage": 7200,
        "partial_outage": 0,
        "warnings": [],
        "related_events": [
            {"component_id": fixture["a"]["id"], "incidents": [{"id": "inc0000000a1"}]}
        ],
    }


async def test_daily_rollup(
    client: httpx.AsyncClient, tenant: Tenant, fixture: dict[str, Any]
) -> None:
    response = await client.get(
        f"/v1/pages/{tenant.page_id}/components/{fixture['a']['id']}/uptime/daily",
        headers=tenant.auth,
        params={"days": 366},
    )
    assert response.status_code == 200, response.text
    days = {d["date"]: d for d in response.json()}
    assert min(days) == "2026-01-01"  # nothing before the component existed
    assert days["2026-01-09"]["status"] == "operational"
    assert days["2026-01-10"] == {
        "date": "2026-01-10",
        "status": "major_outage",
        "major_outage": 3600,
        "partial_outage": 0,
        "degraded_performance": 0,
        "under_maintenance": 0,
        "related_events": [{"id": "inc0000000a1"}],
    }
    assert days["2026-01-11"]["major_outage"] == 3600
    assert days["2026-01-12"]["status"] == "under_maintenance"
    assert days["2026-01-12"]["under_maintenance"] == 7200
    assert days["2026-01-13"]["status"] == "partial_outage"
    assert days["2026-01-13"]["partial_outage"] == 21600
    default = await client.get(
        f"/v1/pages/{tenant.page_id}/components/{fixture['a']['id']}/uptime/daily",
        headers=tenant.auth,
    )
    assert len(default.json()) == 90
