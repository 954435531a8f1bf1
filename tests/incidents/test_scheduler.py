"""Maintenance windows driven by the scheduler with a controllable clock: reminders, automatic
start and completion across a daylight saving change, two workers racing, and a real worker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.core.config import Settings
from app.core.db import Database
from app.core.infra import Infrastructure
from app.core.metrics import Metrics
from app.incidents.scheduler import Outcome, run_due
from tests.components.test_components import create
from tests.conftest import Servers, Tenant
from tests.incidents.helpers import create_incident, history, incident_events
from tests.processes import burst_worker

# America/New_York leaves daylight saving time on 2027-11-07 at 02:00 EDT (06:00 UTC): the window
# below runs from 01:30 EDT to 01:30 EST, one real hour in which the wall clock repeats itself.
START = datetime(2027, 11, 7, 5, 30, tzinfo=UTC)
END = datetime(2027, 11, 7, 6, 30, tzinfo=UTC)


@pytest.fixture
async def schedulers(servers: Servers, db: Database) -> AsyncIterator[list[Infrastructure]]:
    """Two independent 'workers': each its own engine and Redis pool."""
    made = [
        Infrastructure.build(
            Settings(environment="test"), servers.database_url, servers.redis_url, Metrics()
        )
        for _ in range(2)
    ]
    yield made
    for infra in made:
        await infra.close()


async def race(schedulers: list[Infrastructure], now: datetime) -> Outcome:
    results = await asyncio.gather(*(run_due(infra, now) for infra in schedulers))
    total = Outcome()
    for result in results:
        total.reminded += result.reminded
        total.started += result.started
        total.completed += result.completed
        total.incident_reminders += result.incident_reminders
    return total


async def get(client: httpx.AsyncClient, tenant: Tenant, path: str) -> Any:
    response = await client.get(f"/v1/pages/{tenant.page_id}{path}", headers=tenant.auth)
    assert response.status_code == 200, response.text
    return response.json()


async def test_maintenance_window_across_dst_with_two_workers(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, schedulers: list[Infrastructure]
) -> None:
    response = await client.patch(
        f"/v1/pages/{tenant.page_id}",
        headers=tenant.auth,
        json={"page": {"time_zone": "America/New_York"}},
    )
    assert response.status_code == 200, response.text
    db_component = await create(client, tenant, "Database")
    maintenance = await create_incident(
        client,
        tenant,
        name="Database upgrade",
        body="We will upgrade the database",
        scheduled_for="2027-11-07T01:30:00-04:00",
        scheduled_until="2027-11-07T01:30:00-05:00",
        scheduled_remind_prior=True,
        scheduled_auto_in_progress=True,
        scheduled_auto_completed=True,
        auto_transition_to_maintenance_state=True,
        auto_transition_to_operational_state=True,
        auto_transition_deliver_notifications_at_start=True,
        auto_transition_deliver_notifications_at_end=False,
        component_ids=[db_component["id"]],
    )
    assert maintenance["status"] == "scheduled"
    assert maintenance["impact"] == "maintenance"
    assert maintenance["scheduled_for"] == "2027-11-07T05:30:00.000Z"
    assert maintenance["scheduled_until"] == "2027-11-07T06:30:00.000Z"
    assert [i["id"] for i in await get(client, tenant, "/incidents/upcoming")] == [
        maintenance["id"]
    ]
    assert await get(client, tenant, "/incidents/active_maintenance") == []
    path = f"/incidents/{maintenance['id']}"

    assert (await race(schedulers, START - timedelta(minutes=61))).total == 0
    reminded = await race(schedulers, START - timedelta(minutes=60))
    assert (reminded.reminded, reminded.total) == (1, 1)
    assert (await get(client, tenant, path))["scheduled_reminded_at"] == "2027-11-07T04:30:00.000Z"
    assert (await race(schedulers, START - timedelta(minutes=30))).total == 0

    assert (await race(schedulers, START - timedelta(seconds=1))).total == 0
    started = await race(schedulers, START)
    assert (started.started, started.total) == (1, 1)
    current = await get(client, tenant, path)
    assert current["status"] == "in_progress"
    assert [c["status"] for c in current["components"]] == ["under_maintenance"]
    first = current["incident_updates"][0]
    assert first["status"] == "in_progress"
    assert first["deliver_notifications"] is True
    assert first["affected_components"][0]["new_status"] == "under_maintenance"
    assert [i["id"] for i in await get(client, tenant, "/incidents/active_maintenance")] == [
        maintenance["id"]
    ]
    assert await get(client, tenant, "/incidents/upcoming") == []

    # 06:00 UTC is 01:00 EST: earlier on the wall clock than the start, half-way in real time.
    assert (await race(schedulers, START + timedelta(minutes=30))).total == 0
    assert (await get(client, tenant, path))["status"] == "in_progress"

    completed = await race(schedulers, END)
    assert (completed.completed, completed.total) == (1, 1)
    assert (await race(schedulers, END + timedelta(hours=5))).total == 0
    final = await get(client, tenant, path)
    assert final["status"] == "completed"
    assert final["resolved_at"] == "2027-11-07T06:30:00.000Z"
    assert [c["status"] for c in final["components"]] == ["operational"]
    assert [u["status"] for u in final["incident_updates"]] == [
        "completed", "in_progress", "scheduled",
    ]  # fmt: skip
    assert final["incident_updates"][0]["deliver_notifications"] is False
    assert await history(db, db_component["id"]) == [
        ("operational", "under_maintenance", "maintenance"),
        ("under_maintenance", "operational", "maintenance"),
    ]
    events = await incident_events(db)
    assert [e["incident"]["status"] for e in events] == [
        "scheduled", "scheduled", "in_progress", "completed",
    ]  # fmt: skip
    assert [e["deliver"] for e in events] == [True, True, True, False]
    assert events[2]["page"]["status_indicator"] == "maintenance"
    assert await get(client, tenant, "/incidents/active_maintenance") == []
    assert [i["id"] for i in await get(client, tenant, "/incidents/scheduled")] == [
        maintenance["id"]
    ]


async def test_manual_maintenance_is_left_alone(
    client: httpx.AsyncClient, tenant: Tenant, schedulers: list[Infrastructure]
) -> None:
    maintenance = await create_incident(
        client,
        tenant,
        status="scheduled",
        scheduled_for="2027-01-01T10:00:00Z",
        scheduled_until="2027-01-01T11:00:00Z",
    )
    assert (await race(schedulers, datetime(2027, 1, 2, tzinfo=UTC))).total == 0
    current = await get(client, tenant, f"/incidents/{maintenance['id']}")
    assert current["status"] == "scheduled"


async def test_realtime_reminders_at_intervals(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, schedulers: list[Infrastructure]
) -> None:
    incident = await create_incident(client, tenant, reminder_intervals="[1, 2]")
    quiet = await create_incident(client, tenant, reminder_intervals="[]")
    # The API shows milliseconds; the row keeps microseconds.
    started = datetime.fromisoformat(incident["started_at"]) + timedelta(milliseconds=1)
    assert (await race(schedulers, started + timedelta(minutes=59))).total == 0
    assert (await race(schedulers, started + timedelta(hours=1))).incident_reminders == 1
    assert (await race(schedulers, started + timedelta(hours=1, minutes=30))).total == 0
    assert (await race(schedulers, started + timedelta(hours=3))).incident_reminders == 1
    assert (await race(schedulers, started + timedelta(hours=30))).total == 0
    reminders = [e for e in await incident_events(db) if e["incident"]["id"] == incident["id"]]
    assert len(reminders) == 3  # the creation and two reminders
    assert quiet["reminder_intervals"] == "[]"


async def test_real_worker_starts_a_due_maintenance(
    client: httpx.AsyncClient, tenant: Tenant, servers: Servers
) -> None:
    now = datetime.now(UTC)
    maintenance = await create_incident(
        client,
        tenant,
        scheduled_for=(now - timedelta(minutes=1)).isoformat(),
        scheduled_until=(now + timedelta(hours=1)).isoformat(),
        scheduled_auto_in_progress=True,
    )
    await burst_worker(servers.env())
    current = await get(client, tenant, f"/incidents/{maintenance['id']}")
    assert current["status"] == "in_progress"
