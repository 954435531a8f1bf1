"""Nothing lost: incidents written while Redis is down are delivered once a worker runs again;
a worker SIGKILLed in the middle of a fan-out loses nobody, with few duplicates."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable

import httpx

from app.core.config import Settings
from app.core.db import Database
from app.main import create_app
from tests.conftest import Servers, Tenant
from tests.incidents.helpers import create_incident
from tests.notifications.conftest import (
    Receiver,
    add_subscriber,
    add_webhooks,
    run_worker,
    worker_env,
)
from tests.processes import start_worker

DEAD_REDIS = "redis://127.0.0.1:1/0"


async def test_incidents_written_while_redis_is_down_are_delivered(
    servers: Servers,
    settings: Settings,
    tenant: Tenant,
    db: Database,
    receiver: Receiver,
    delivery_settings: Settings,
) -> None:
    await add_subscriber(db, tenant.page_id, "webhook", endpoint=receiver.url("/hook"))
    app = create_app(settings, database_url=servers.database_url, redis_url=DEAD_REDIS)
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as down:
            for n in range(3):
                await create_incident(down, tenant, name=f"While Redis is down {n}")
    finally:
        await lifespan.__aexit__(None, None, None)
    assert receiver.requests == []

    await run_worker(servers, delivery_settings)  # Redis is back: the sweeps catch up
    names = sorted(r.body.decode().split('"name":"')[1].split('"')[0] for r in receiver.requests)
    assert names == [f"While Redis is down {n}" for n in range(3)]


async def _until(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_worker_killed_mid_fanout_delivers_everyone(
    servers: Servers,
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    receiver: Receiver,
    delivery_settings: Settings,
) -> None:
    subscribers = 300
    concurrency = 16
    await add_webhooks(db, tenant.page_id, receiver.url("/hook"), subscribers)
    receiver.delay = 0.05  # slow enough to kill the worker half way
    env = worker_env(
        servers,
        delivery_settings,
        STATUSPAGE_DELIVERY_CONCURRENCY=str(concurrency),
        STATUSPAGE_DELIVERY_BATCH_SIZE="50",
        STATUSPAGE_DELIVERY_LEASE_SECONDS="1.5",
    )
    process = await start_worker(env, stderr=True)
    try:
        await create_incident(client, tenant)
        await _until(lambda: len(receiver.requests) >= subscribers // 3, 60)
    finally:
        process.kill()
        _, stderr = await process.communicate()
    at_kill = len(receiver.requests)
    assert at_kill < subscribers, stderr.decode()[-2000:]

    receiver.delay = 0
    # A new worker (a process again: the dead one's arq jobs stay queued until their in-progress
    # keys expire, which an in-process burst worker would wait for).
    restarted = await start_worker(
        worker_env(
            servers,
            delivery_settings,
            STATUSPAGE_DELIVERY_LEASE_SECONDS="1.5",
            STATUSPAGE_DELIVERY_SWEEP_SECONDS="1",
        )
    )
    try:

        def everyone() -> bool:
            return len({r.headers["webhook-id"] for r in receiver.requests}) >= subscribers

        await _until(everyone, 90)
    finally:
        restarted.kill()
        await restarted.communicate()

    copies = Counter(r.headers["webhook-id"] for r in receiver.requests)
    duplicates = sum(n - 1 for n in copies.values())
    assert len(copies) == subscribers
    # Only what was in flight or not yet recorded when the worker died is sent twice (about
    # one concurrency's worth; bench/delivery_fanout.py --kill measures it on 10,000).
    assert duplicates <= 4 * concurrency, (at_kill, duplicates)
