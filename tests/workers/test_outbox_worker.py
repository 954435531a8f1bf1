"""A real `statuspage worker --burst` process relays outbox events: those whose job was enqueued
after the commit, and those written while no job could be enqueued (the cron sweep's case)."""

from __future__ import annotations

from sqlalchemy import select
from starlette.responses import Response

from app.core.context import UnitOfWork
from app.core.db import Database
from app.core.notifier import Notifier
from app.core.queue import Queue
from app.models import OutboxEvent
from app.notifications.outbox import emit
from tests.conftest import Servers
from tests.processes import burst_worker


async def _run_worker(servers: Servers) -> None:
    await burst_worker(servers.env())


async def test_worker_relays_committed_events(servers: Servers, db: Database) -> None:
    queue = Queue.from_url(servers.redis_url)
    notifier = Notifier(queue)
    try:
        work = UnitOfWork()
        async with db.sessionmaker() as session, session.begin():
            await emit(session, work, notifier, kind="test.event", payload={"n": 1}, page_id=None)
        await work.finish(Response(status_code=201))  # what a request does after its commit
        await notifier.flush()
        assert await queue.depth() == 1

        # An event whose enqueue never happened (Redis down at that moment): the sweep's job.
        async with db.sessionmaker() as session, session.begin():
            session.add(OutboxEvent(kind="test.event", payload={"n": 2}, attempts=0))

        await _run_worker(servers)

        async with db.sessionmaker() as session:
            events = (await session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))).all()
        assert [e.payload["n"] for e in events] == [1, 2]
        assert all(e.dispatched_at is not None for e in events)
        assert all(e.attempts == 1 for e in events)
        assert await queue.depth() == 0
    finally:
        await queue.close()


async def test_rolled_back_transaction_emits_nothing(servers: Servers, db: Database) -> None:
    queue = Queue.from_url(servers.redis_url)
    notifier = Notifier(queue)
    try:
        work = UnitOfWork()
        async with db.sessionmaker() as session, session.begin():
            await emit(session, work, notifier, kind="test.event", payload={"n": 3})
            await session.rollback()
        await work.finish(Response(status_code=500))
        await notifier.flush()
        async with db.sessionmaker() as session:
            assert (await session.scalars(select(OutboxEvent))).all() == []
        assert await queue.depth() == 0
    finally:
        await queue.close()
