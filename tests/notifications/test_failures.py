"""Failures with a controllable clock: retry with backoff then success, 3xx is a failure, the
quarantine after 10 failures in about an hour (and the notice to the contact address), dead email
addresses and phone numbers, and the purge 90 days later."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from app.core.db import Database
from app.models import DeliveryAttempt, Subscriber
from app.notifications import quarantine
from app.notifications.delivery import Deliverer, drain, retry_delay
from tests.conftest import Tenant
from tests.incidents.helpers import create_incident
from tests.notifications.conftest import (
    DEAD_NUMBER,
    Clock,
    Receiver,
    Smtp,
    add_subscriber,
    deliveries_of,
    relay_and_drain,
    subscriber,
)


async def _attempts(db: Database, delivery_id: int) -> list[DeliveryAttempt]:
    async with db.sessionmaker() as session:
        rows = await session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id == delivery_id)
            .order_by(DeliveryAttempt.id)
        )
        return list(rows.all())


def test_backoff_is_capped_exponential_with_jitter() -> None:
    import random

    rng = random.Random(7)
    delays = [retry_delay(n, rng).total_seconds() for n in range(1, 11)]
    assert 11 <= delays[0] <= 19 and 22 <= delays[1] <= 38
    assert all(d <= 600 * 1.25 for d in delays)
    assert 30 * 60 <= sum(delays[:9]) <= 60 * 60  # ten attempts within about an hour


async def test_retry_then_success_keeps_the_message_id(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    receiver: Receiver,
    deliverer: Deliverer,
    clock: Clock,
) -> None:
    hook = await add_subscriber(db, tenant.page_id, "webhook", endpoint=receiver.url("/hook"))
    receiver.answer("/hook", 503, 302)
    await create_incident(client, tenant)

    await relay_and_drain(deliverer, clock)
    [delivery] = await deliveries_of(db, hook.id)
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == ("pending", 1, 503)
    first_retry = delivery.next_attempt_at - clock()
    assert timedelta(seconds=10) < first_retry < timedelta(seconds=20)

    assert (await drain(deliverer, clock=clock)).sent == 0  # not due yet
    clock.advance(seconds=20)
    await drain(deliverer, clock=clock)  # a redirect is a failure, and is not followed
    clock.advance(seconds=40)
    await drain(deliverer, clock=clock)

    [delivery] = await deliveries_of(db, hook.id)
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == ("delivered", 3, 200)
    assert [a.status_code for a in await _attempts(db, delivery.id)] == [503, 302, 200]
    assert receiver.at("/elsewhere") == []
    ids = {r.headers["webhook-id"] for r in receiver.at("/hook")}
    assert ids == {f"msg_{delivery.id}"}
    assert (await subscriber(db, hook.id)).failure_count == 0  # a success resets the count


async def test_quarantine_after_ten_failures_and_notice(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    receiver: Receiver,
    smtp: Smtp,
    deliverer: Deliverer,
    clock: Clock,
) -> None:
    hook = await add_subscriber(
        db, tenant.page_id, "webhook", endpoint=receiver.url("/down"), email="ops@example.com"
    )
    receiver.always["/down"] = 500
    await create_incident(client, tenant, name="First")
    await create_incident(client, tenant, name="Second")
    await relay_and_drain(deliverer, clock)  # 2 failures
    for _ in range(4):  # 8 more, two deliveries each time, within the hour
        clock.advance(minutes=11)
        await drain(deliverer, clock=clock)
    quarantined_at = clock()

    row = await subscriber(db, hook.id)
    assert row.state == "quarantined"
    assert row.failure_count == 10
    assert row.quarantined_at is not None and row.purge_at is not None
    assert abs((row.quarantined_at - quarantined_at).total_seconds()) < 5
    assert row.purge_at - row.quarantined_at == timedelta(days=90)
    assert len(receiver.at("/down")) == 10

    # The notice goes to the contact address (through the outbox, like everything else).
    await relay_and_drain(deliverer, clock)
    [notice] = smtp.to("ops@example.com")
    assert notice["Subject"] == "[Status] Your webhook has been quarantined"
    assert "HTTP 500" in notice.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    # Nothing more is sent to a quarantined endpoint: its remaining retries are dropped.
    clock.advance(minutes=30)
    await drain(deliverer, clock=clock)
    assert len(receiver.at("/down")) == 10
    states = {d.state for d in await deliveries_of(db, hook.id)}
    assert states == {"dropped", "delivered"}  # the two events dropped, the notice delivered


async def test_failures_spread_over_more_than_an_hour_do_not_quarantine(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    receiver: Receiver,
    deliverer: Deliverer,
    clock: Clock,
) -> None:
    hook = await add_subscriber(db, tenant.page_id, "webhook", endpoint=receiver.url("/slow"))
    receiver.always["/slow"] = 500
    for n in range(3):
        await create_incident(client, tenant, name=f"Incident {n}")
    await relay_and_drain(deliverer, clock)  # 3 failures now
    clock.advance(minutes=61)
    await drain(deliverer, clock=clock)  # 3 more, in a new window
    row = await subscriber(db, hook.id)
    assert (row.state, row.failure_count) == ("active", 3)


async def test_dead_email_address_and_phone_number_quarantine_at_once(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    twilio: Receiver,
    smtp: Smtp,
    deliverer: Deliverer,
    clock: Clock,
) -> None:
    mail = await add_subscriber(db, tenant.page_id, "email", email="bounce@example.com")
    phone = await add_subscriber(
        db, tenant.page_id, "sms", phone_number="2025550199", phone_country="US",
        display_phone_number=DEAD_NUMBER,
    )  # fmt: skip
    await create_incident(client, tenant)
    await relay_and_drain(deliverer, clock)
    for row_id in (mail.id, phone.id):
        row = await subscriber(db, row_id)
        assert row.state == "quarantined", row.mode
        [delivery] = await deliveries_of(db, row_id)
        assert delivery.state == "failed"
    [delivery] = await deliveries_of(db, phone.id)
    assert "21211" in (delivery.last_error or "")
    assert smtp.messages == []


async def test_purge_after_ninety_days(db: Database, tenant: Tenant, clock: Clock) -> None:
    now = clock()
    due = await add_subscriber(
        db, tenant.page_id, "webhook", endpoint="http://example.com/", state="quarantined",
        quarantined_at=now - timedelta(days=91), purge_at=now - timedelta(days=1),
    )  # fmt: skip
    later = await add_subscriber(
        db, tenant.page_id, "webhook", endpoint="http://example.com/", state="quarantined",
        quarantined_at=now - timedelta(days=10), purge_at=now + timedelta(days=80),
    )  # fmt: skip
    assert await quarantine.purge(db.sessionmaker, now) == 1
    assert await quarantine.purge(db.sessionmaker, now) == 0
    purged = await subscriber(db, due.id)
    assert (purged.state, purged.purge_at) == ("unsubscribed", None)
    assert purged.unsubscribed_at is not None
    assert (await subscriber(db, later.id)).state == "quarantined"
    assert await quarantine.purge(db.sessionmaker, now + timedelta(days=81)) == 1
    async with db.sessionmaker() as session:
        states = set((await session.scalars(select(Subscriber.state))).all())
    assert states == {"unsubscribed"}
