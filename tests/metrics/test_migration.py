"""Migration 0009 (the rollups' queue) goes down without losing a queued bucket, and up again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from app.core.config import Settings
from app.core.db import Database
from app.core.migrate import downgrade, upgrade
from app.models import Metric, MetricPoint, MetricRollup, MetricsProvider
from app.organizations.service import bootstrap
from tests.conftest import Servers
from tests.metrics.helpers import aligned_past
from tests.metrics.test_rollups import from_raw


async def _admin(servers: Servers) -> asyncpg.Connection:
    url = make_url(servers.database_url)
    host = url.query.get("host") or url.host
    return await asyncpg.connect(
        user=url.username,
        password=url.password,
        database=url.database,
        host=host if isinstance(host, str) else None,
        port=url.port,
    )


@pytest.fixture
async def scratch_url(servers: Servers) -> AsyncIterator[str]:
    """A database of its own, migrated to the head, for going down and up."""
    url = make_url(servers.database_url)
    name = f"{url.database}_m0009"
    admin = await _admin(servers)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        scratch = url.set(database=name).render_as_string(hide_password=False)
        await asyncio.to_thread(upgrade, scratch)
        yield scratch
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_downgrade_folds_the_queue_then_upgrade_again(scratch_url: str) -> None:
    base = aligned_past(7200, 3)
    database = Database.connect(scratch_url, Settings())
    try:
        async with database.sessionmaker() as session, session.begin():
            made = await bootstrap(session, "Org", "Status")
            provider = MetricsProvider(page_id=made.page_id, type="Self", disabled=False)
            session.add(provider)
            await session.flush()
            metric = Metric(page_id=made.page_id, metrics_provider_id=provider.id, name="Latency")
            session.add(metric)
            await session.flush()
            points = [(base, 1.0), (base + 30, 2.0), (base + 7200 + 60, 4.0)]
            for ts, value in points:
                session.add(MetricPoint(metric_id=metric.id, ts=ts, value=value))
            await session.execute(
                text("INSERT INTO metric_rollup_queue VALUES (:m, :a), (:m, :b), (:m, :a)"),
                {"m": metric.id, "a": base, "b": base + 7200},
            )
    finally:
        await database.close()

    await asyncio.to_thread(downgrade, scratch_url, "0008")
    database = Database.connect(scratch_url, Settings())
    try:
        async with database.sessionmaker() as session:
            rows = await session.scalars(select(MetricRollup))
            found = {(r.period, r.bucket): (r.sum, r.count, r.last, r.last_ts) for r in rows}
            assert found == from_raw(points)
            queue = await session.scalar(text("SELECT to_regclass('metric_rollup_queue')"))
            assert queue is None
    finally:
        await database.close()
    await asyncio.to_thread(upgrade, scratch_url)
