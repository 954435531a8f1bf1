"""Delivery: claim a batch of due deliveries, send it concurrently, record every attempt.

A claim sets `state = 'sending'` and a lease (`lease_until`, mirrored in `next_attempt_at`), so the
one "due" condition, `state IN ('pending', 'sending') AND next_attempt_at <= now`, covers new rows,
retries and the batches of a worker that died (its lease runs out). The lease is renewed while a
batch is in flight. Results are written in small bulk statements as they arrive, which keeps what
a SIGKILL can leave unrecorded (and so resent) to roughly the requests in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.db import Database
from app.core.notifier import RELAY_JOB
from app.core.queue import Queue
from app.core.timefmt import utcnow
from app.notifications import quarantine
from app.notifications.channels import email, slack, sms, teams, webhook
from app.notifications.channels.base import Claimed, Item, Outbound, Outcome, error_text
from app.notifications.fanout import NOTICE_KINDS
from app.notifications.payloads import Event, PageInfo, Recipient

logger = logging.getLogger(__name__)

DRAIN_JOB = "deliver_pending"
MAX_ATTEMPTS = 10
RETRY_BASE_SECONDS = 15.0
RETRY_CAP_SECONDS = 600.0
FLUSH_SIZE = 500
FLUSH_SECONDS = 0.005  # also the most a SIGKILL can leave unrecorded (then resent)
DUE_COUNT_CAP = 1_000_000
HTTP_CHANNELS = frozenset({"webhook", "slack", "teams"})

Clock = Callable[[], datetime]
Sender = Callable[[Outbound, Item], Awaitable[Outcome]]
SENDERS: dict[str, Sender] = {
    "webhook": webhook.send,
    "slack": slack.send,
    "teams": teams.send,
    "sms": sms.send,
}


@dataclass
class Deliverer:
    """Per worker process: settings, database, the outbound clients and the queue."""

    settings: Settings
    db: Database
    outbound: Outbound
    queue: Queue | None = None
    rng: random.Random = field(default_factory=random.Random)


def retry_delay(attempts: int, rng: random.Random) -> timedelta:
    """Capped exponential backoff with jitter: about 15 s, 30 s, 1 min ... 10 min, so that ten
    failed attempts span about 45 minutes (quarantine comes after 10 failures in about an hour)."""
    base = min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return timedelta(seconds=base * rng.uniform(0.75, 1.25))


# Claim -----------------------------------------------------------------------------------------

_CLAIM = text(
    """
    WITH due AS (
        SELECT id FROM deliveries
        WHERE state IN ('pending', 'sending') AND next_attempt_at <= :now
        ORDER BY next_attempt_at, id
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    )
    UPDATE deliveries d
    SET state = 'sending', attempts = d.attempts + 1, lease_until = :lease, next_attempt_at = :lease
    FROM due, subscribers s
    WHERE d.id = due.id AND s.id = d.subscriber_id
    RETURNING d.id, d.event_id, d.event_kind, d.channel, d.attempts,
              s.id AS subscriber_id, s.page_id, s.mode, s.state, s.email, s.endpoint,
              s.phone_number, s.display_phone_number, s.secret, s.unsubscribe_token,
              s.confirm_token, s.failure_count
    """
)

_RENEW = text(
    """
    UPDATE deliveries SET lease_until = :lease, next_attempt_at = :lease
    WHERE id = ANY(CAST(:ids AS bigint[])) AND state = 'sending'
    """
)


async def claim(
    session: AsyncSession, now: datetime, limit: int, lease: timedelta
) -> list[Claimed]:
    rows = await session.execute(_CLAIM, {"now": now, "limit": limit, "lease": now + lease})
    return [
        Claimed(
            delivery_id=row.id,
            event_id=row.event_id,
            event_kind=row.event_kind,
            channel=row.channel,
            attempts=row.attempts,
            recipient=Recipient(
                id=row.subscriber_id,
                page_id=row.page_id,
                mode=row.mode,
                state=row.state,
                email=row.email,
                endpoint=row.endpoint,
                phone_number=row.phone_number,
                display_phone_number=row.display_phone_number,
                secret=row.secret,
                unsubscribe_token=row.unsubscribe_token,
                confirm_token=row.confirm_token,
                failure_count=row.failure_count,
            ),
        )
        for row in rows
    ]


_EVENTS = text(
    "SELECT id, kind, payload, page_id FROM outbox_events WHERE id = ANY(CAST(:ids AS bigint[]))"
)
_PAGES = text(
    "SELECT id, name, notifications_from_email, notifications_email_footer FROM pages "
    "WHERE id = ANY(CAST(:ids AS varchar[]))"
)


async def load_events(
    session: AsyncSession, claimed: list[Claimed], known: dict[int, Event], base_url: str
) -> None:
    """The events of these deliveries (and their pages) that `known` lacks, added to it."""
    missing = sorted({c.event_id for c in claimed} - known.keys())
    if not missing:
        return
    rows = (await session.execute(_EVENTS, {"ids": missing})).all()
    page_of_recipient = {c.event_id: c.recipient.page_id for c in claimed}
    page_ids = sorted({row.page_id or page_of_recipient[row.id] for row in rows})
    pages = {
        row.id: PageInfo(
            row.id, row.name, row.notifications_from_email, row.notifications_email_footer
        )
        for row in await session.execute(_PAGES, {"ids": page_ids})
    }
    for row in rows:
        page_id = row.page_id or page_of_recipient[row.id]
        page = pages.get(page_id) or PageInfo(page_id, "Status page", None, None)
        known[row.id] = Event(row.id, row.kind, row.payload, page, base_url.rstrip("/"))


# Record ----------------------------------------------------------------------------------------

_RECORD = text(
    """
    WITH r AS (
        SELECT * FROM unnest(
            CAST(:ids AS bigint[]), CAST(:states AS text[]), CAST(:codes AS int[]),
            CAST(:errors AS text[]), CAST(:next_at AS timestamptz[]),
            CAST(:latencies AS float8[]), CAST(:recorded AS bool[])
        ) AS r(id, state, code, error, next_at, latency, recorded)
    ), updated AS (
        UPDATE deliveries d
        SET state = r.state, last_status_code = r.code, last_error = r.error, lease_until = NULL,
            next_attempt_at = coalesce(r.next_at, d.next_attempt_at),
            delivered_at = CASE WHEN r.state = 'delivered' THEN :now ELSE d.delivered_at END,
            attempts = CASE WHEN r.recorded THEN d.attempts ELSE d.attempts - 1 END
        FROM r WHERE d.id = r.id AND d.state = 'sending'
        RETURNING d.id
    )
    INSERT INTO delivery_attempts (delivery_id, at, status_code, latency_ms, error)
    SELECT r.id, :now, r.code, r.latency, r.error
    FROM r JOIN deliveries d ON d.id = r.id
    WHERE r.recorded
    """
)


class Recorder:
    """Writes outcomes as they arrive and renews the lease of the batch's unfinished deliveries."""

    def __init__(self, deliverer: Deliverer, claimed: list[Claimed], clock: Clock):
        self.deliverer = deliverer
        self.clock = clock
        self.claimed = {c.delivery_id: c for c in claimed}
        self.unfinished = set(self.claimed)
        self.buffer: list[Outcome] = []
        self.wake = asyncio.Event()
        self.closing = False
        self.quarantined = 0
        self.lease = timedelta(seconds=deliverer.settings.delivery_lease_seconds)
        self.task = asyncio.create_task(self._run(), name="delivery-recorder")

    def add(self, outcome: Outcome) -> None:
        self.buffer.append(outcome)
        self.unfinished.discard(outcome.delivery_id)
        self.wake.set()

    async def close(self) -> None:
        self.closing = True
        self.wake.set()
        await self.task

    async def _run(self) -> None:
        # Flush soon after anything arrives: what arrives meanwhile goes in the same statement, so
        # batches grow with the rate and the unrecorded window stays short (what a SIGKILL resends).
        renewed = time.monotonic()
        every = self.lease.total_seconds() / 3
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), every)
            self.wake.clear()
            if self.buffer and self.unfinished and not self.closing:
                # Let a few more arrive: fewer, larger statements; the window stays short.
                await asyncio.sleep(FLUSH_SECONDS)
            while self.buffer:
                outcomes, self.buffer = self.buffer[:FLUSH_SIZE], self.buffer[FLUSH_SIZE:]
                await self._guarded(self._flush, outcomes)
            if self.closing and not self.buffer:
                return
            if self.unfinished and time.monotonic() - renewed > every:
                renewed = time.monotonic()
                await self._guarded(self._renew, sorted(self.unfinished))

    async def _guarded(self, step: Callable[[Any], Awaitable[None]], argument: Any) -> None:
        """A database hiccup costs at worst a resend after the lease (at-least-once)."""
        for attempt in range(3):
            try:
                await step(argument)
                return
            except Exception:
                if attempt == 2:
                    logger.exception("could not record delivery outcomes")
                    return
                await asyncio.sleep(0.2 * (attempt + 1))

    async def _renew(self, ids: list[int]) -> None:
        async with self.deliverer.db.sessionmaker() as session, session.begin():
            await session.execute(_RENEW, {"ids": ids, "lease": self.clock() + self.lease})

    async def _flush(self, outcomes: list[Outcome]) -> None:
        now = self.clock()
        rng = self.deliverer.rng
        ids, states, codes, errors, next_at, latencies, recorded = [], [], [], [], [], [], []
        failures: Counter[str] = Counter()
        last_errors: dict[str, str] = {}
        dead: set[str] = set()
        succeeded: set[str] = set()
        for outcome in outcomes:
            claimed = self.claimed[outcome.delivery_id]
            subscriber = claimed.recipient.id
            retry = None
            if outcome.dropped:
                state = "dropped"
            elif outcome.ok:
                state = "delivered"
            elif outcome.permanent or claimed.attempts >= MAX_ATTEMPTS:
                state = "failed"
            else:
                state = "pending"
                retry = now + retry_delay(claimed.attempts, rng)
            if not outcome.dropped and claimed.event_kind not in NOTICE_KINDS:
                if outcome.ok and claimed.channel in HTTP_CHANNELS:
                    if claimed.recipient.failure_count:
                        succeeded.add(subscriber)
                elif not outcome.ok and claimed.channel in HTTP_CHANNELS:
                    failures[subscriber] += 1
                    last_errors[subscriber] = outcome.error or ""
                elif outcome.dead_address:
                    dead.add(subscriber)
            ids.append(outcome.delivery_id)
            states.append(state)
            codes.append(outcome.status_code)
            errors.append(outcome.error)
            next_at.append(retry)
            latencies.append(outcome.latency_ms)
            recorded.append(not outcome.dropped)
        async with self.deliverer.db.sessionmaker() as session, session.begin():
            await session.execute(
                _RECORD,
                {
                    "ids": ids, "states": states, "codes": codes, "errors": errors,
                    "next_at": next_at, "latencies": latencies, "recorded": recorded, "now": now,
                },
            )  # fmt: skip
            quarantined = await quarantine.account(
                session,
                now,
                failures=failures,
                last_errors=last_errors,
                dead=dead,
                succeeded=succeeded,
            )
        if quarantined:
            self.quarantined += quarantined
            await _enqueue(self.deliverer.queue, RELAY_JOB)  # the notices


# Send ------------------------------------------------------------------------------------------


async def _send_one(deliverer: Deliverer, item: Item, recorder: Recorder) -> None:
    sender = SENDERS.get(item.claimed.channel)
    if sender is None:
        outcome = Outcome(
            item.claimed.delivery_id,
            False,
            error=f"channel {item.claimed.channel} is not supported",
            permanent=True,
        )
    else:
        try:
            outcome = await sender(deliverer.outbound, item)
        except Exception as exc:  # a bug in one sender must not lose the batch
            logger.exception("delivery failed unexpectedly")
            outcome = Outcome(item.claimed.delivery_id, False, error=error_text(exc))
    recorder.add(outcome)


async def process(
    deliverer: Deliverer, claimed: list[Claimed], events: dict[int, Event], clock: Clock
) -> Recorder:
    """Send a claimed batch; every outcome is recorded before this returns."""
    async with deliverer.db.read_sessionmaker() as session:
        await load_events(session, claimed, events, deliverer.settings.public_base_url)
    recorder = Recorder(deliverer, claimed, clock)
    try:
        mails: list[Item] = []
        posts: deque[Item] = deque()
        for each in claimed:
            event = events.get(each.event_id)
            state = each.recipient.state
            if event is None or (each.event_kind not in NOTICE_KINDS and state != "active"):
                reason = "event deleted" if event is None else f"subscriber is {state}"
                recorder.add(Outcome(each.delivery_id, False, error=reason, dropped=True))
            elif each.channel == "email":
                mails.append(Item(each, event))
            else:
                posts.append(Item(each, event))

        async def lane() -> None:
            # A few long-lived lanes rather than a task per request (cheaper on this hot path);
            # Outbound's semaphore caps the requests in flight for the whole process.
            while posts:
                await _send_one(deliverer, posts.popleft(), recorder)

        lanes = [lane() for _ in range(min(len(posts), deliverer.settings.delivery_concurrency))]
        if mails:
            lanes.append(email.send_all(deliverer.outbound, mails, recorder.add))
        await asyncio.gather(*lanes)
    finally:
        await recorder.close()
    return recorder


@dataclass(frozen=True)
class Drained:
    sent: int
    more: bool  # stopped at the time budget with work left


async def drain(
    deliverer: Deliverer,
    *,
    clock: Clock = utcnow,
    budget_seconds: float = 60.0,
    batch_size: int | None = None,
) -> Drained:
    """Claim and send batches until nothing is due (or the time budget is spent)."""
    settings = deliverer.settings
    lease = timedelta(seconds=settings.delivery_lease_seconds)
    deadline = time.monotonic() + budget_seconds
    events: dict[int, Event] = {}
    sent = 0
    while True:
        async with deliverer.db.sessionmaker() as session, session.begin():
            claimed = await claim(
                session, clock(), batch_size or settings.delivery_batch_size, lease
            )
        if not claimed:
            return Drained(sent, False)
        await process(deliverer, claimed, events, clock)
        sent += len(claimed)
        if time.monotonic() > deadline:
            return Drained(sent, True)


# Wake-up ---------------------------------------------------------------------------------------

_DUE = text(
    """
    SELECT count(*) FROM (
        SELECT 1 FROM deliveries
        WHERE state IN ('pending', 'sending') AND next_attempt_at <= :now LIMIT :cap
    ) AS due
    """
)


async def _enqueue(queue: Queue | None, job: str) -> None:
    if queue is None:
        return
    try:
        await queue.enqueue(job)
    except Exception as exc:  # Redis down: the sweep cron catches up
        logger.warning("could not enqueue %s: %s", job, exc)


async def wake(deliverer: Deliverer, now: datetime | None = None) -> int:
    """Enqueue drain jobs for what is due now (new rows, retries, expired leases); answers how
    many. Called after a relay, by the sweep cron, and after a redelivery."""
    async with deliverer.db.read_sessionmaker() as session:
        due = int(await session.scalar(_DUE, {"now": now or utcnow(), "cap": DUE_COUNT_CAP}) or 0)
    settings = deliverer.settings
    jobs = min(settings.delivery_jobs, math.ceil(due / settings.delivery_batch_size))
    for _ in range(jobs):
        await _enqueue(deliverer.queue, DRAIN_JOB)
    return jobs
