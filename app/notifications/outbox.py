"""The transactional outbox: events written in the request's transaction, relayed by the worker.

A request adds an OutboxEvent next to its state change; after the commit it enqueues the relay job.
If Redis is down at that moment nothing is lost: the worker's cron sweep relays pending rows.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.context import UnitOfWork
from app.core.notifier import Notifier
from app.core.timefmt import utcnow
from app.models import OutboxEvent

logger = logging.getLogger(__name__)

RELAY_BATCH = 200

EventHandler = Callable[[AsyncSession, OutboxEvent], Awaitable[None]]

# kind -> handler; delivery modules register theirs. An event with no handler is simply marked done.
HANDLERS: dict[str, EventHandler] = {}


def register(kind: str) -> Callable[[EventHandler], EventHandler]:
    def decorator(handler: EventHandler) -> EventHandler:
        HANDLERS[kind] = handler
        return handler

    return decorator


async def emit(
    session: AsyncSession,
    work: UnitOfWork,
    notifier: Notifier,
    *,
    kind: str,
    payload: dict[str, Any],
    page_id: str | None = None,
) -> OutboxEvent:
    """Add the event to the caller's transaction; once it commits, the relay is woken up."""
    event = OutboxEvent(kind=kind, payload=payload, page_id=page_id, attempts=0)
    session.add(event)

    wake_after_commit(work, notifier)
    return event


def wake_after_commit(work: UnitOfWork, notifier: Notifier) -> None:
    """For a transaction that wrote outbox rows: wake the relay once it has committed."""
    if not work.relay_scheduled:
        work.relay_scheduled = True
        work.on_commit(notifier.outbox_pending)


async def relay_pending(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Hand pending events to their handlers, each in its own transaction; answers how many."""
    relayed = 0
    while True:
        async with sessionmaker() as session, session.begin():
            events = (
                await session.scalars(
                    select(OutboxEvent)
                    .where(OutboxEvent.dispatched_at.is_(None))
                    .order_by(OutboxEvent.id)
                    .limit(RELAY_BATCH)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for event in events:
                event.attempts += 1
                handler = HANDLERS.get(event.kind)
                try:
                    if handler is not None:
                        async with session.begin_nested():
                            await handler(session, event)
                except Exception as exc:
                    logger.exception("outbox handler failed", extra={"event_id": event.id})
                    event.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                    continue
                event.dispatched_at = utcnow()
                relayed += 1
        if len(events) < RELAY_BATCH:
            return relayed
