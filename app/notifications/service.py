"""The delivery log and redelivery, for the subscribers' deliveries extension routes."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.context import Writer
from app.core.errors import Conflict, NotFound
from app.core.pagination import Pagination
from app.core.timefmt import utcnow
from app.models import Delivery, DeliveryAttempt, Page, Subscriber
from app.notifications import schemas
from app.notifications.delivery import DRAIN_JOB
from app.notifications.fanout import NOTICE_KINDS

NOT_FOUND = "The requested resource could not be found."


async def get_subscriber(session: AsyncSession, page: Page, subscriber_id: str) -> Subscriber:
    row = await session.scalar(
        select(Subscriber).where(Subscriber.id == subscriber_id, Subscriber.page_id == page.id)
    )
    if row is None:
        raise NotFound(NOT_FOUND)
    return row


def _view(row: Delivery, attempts: list[DeliveryAttempt]) -> schemas.Delivery:
    return schemas.Delivery(
        id=str(row.id),
        event_id=str(row.event_id),
        event_kind=row.event_kind,
        channel=row.channel,
        state=row.state,
        attempts=row.attempts,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        next_attempt_at=row.next_attempt_at if row.state == "pending" else None,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        attempt_log=[
            schemas.DeliveryAttempt(
                at=a.at, status_code=a.status_code, latency_ms=a.latency_ms, error=a.error
            )
            for a in attempts
        ],
    )


async def list_deliveries(
    session: AsyncSession, subscriber: Subscriber, pagination: Pagination
) -> list[schemas.Delivery]:
    """Newest first, each with its attempts (two queries)."""
    rows = (
        await session.scalars(
            select(Delivery)
            .where(Delivery.subscriber_id == subscriber.id)
            .order_by(Delivery.id.desc())
            .offset(pagination.offset)
            .limit(pagination.per_page)
        )
    ).all()
    attempts: dict[int, list[DeliveryAttempt]] = defaultdict(list)
    if rows:
        for attempt in await session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id.in_([r.id for r in rows]))
            .order_by(DeliveryAttempt.id)
        ):
            attempts[attempt.delivery_id].append(attempt)
    return [_view(row, attempts[row.id]) for row in rows]


async def redeliver(writer: Writer, subscriber: Subscriber, delivery_id: str) -> schemas.Delivery:
    """Queue the delivery again, now, with a fresh retry budget; the message id is unchanged, so
    a receiver that already has it can tell."""
    session = writer.session
    row = (
        await session.scalar(
            select(Delivery)
            .where(Delivery.id == int(delivery_id), Delivery.subscriber_id == subscriber.id)
            .with_for_update()
        )
        if delivery_id.isdigit() and len(delivery_id) < 19
        else None
    )
    if row is None:
        raise NotFound(NOT_FOUND)
    if row.event_kind not in NOTICE_KINDS and subscriber.state != "active":
        raise Conflict(
            f"The subscriber is {subscriber.state}: only active subscribers are sent events"
        )
    now = utcnow()
    row.state = "pending"
    row.attempts = 0
    row.next_attempt_at = now
    row.lease_until = None
    await session.flush()
    queue = writer.infra.queue

    async def start_drain() -> None:
        await queue.enqueue(DRAIN_JOB)  # if Redis is down, the sweep cron starts it

    writer.work.on_commit(start_drain)
    attempts = (
        await session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id == row.id)
            .order_by(DeliveryAttempt.id)
        )
    ).all()
    return _view(row, list(attempts))
