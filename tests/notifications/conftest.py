"""Real receivers for delivery tests: an HTTP server (webhooks, Slack, Teams), an SMTP server
(aiosmtpd) and an HTTP server speaking Twilio's Messages API shape, all on 127.0.0.1."""

from __future__ import annotations

import asyncio
import email
import email.policy
import secrets
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller
from sqlalchemy import insert, select

from app.core.config import Settings
from app.core.db import Database
from app.core.ids import new_id
from app.core.timefmt import utcnow
from app.models import Delivery, Subscriber
from app.notifications import fanout  # noqa: F401  (registers the fan-out handlers)
from app.notifications.channels.base import Outbound
from app.notifications.delivery import Deliverer, Drained, drain
from app.notifications.outbox import relay_pending
from app.notifications.signing import new_secret
from tests.conftest import Servers
from tests.processes import free_port
from workers.settings import build_worker

BASE_URL = "http://status.test"
TWILIO_SID = "AC0123456789"
TWILIO_TOKEN = "twilio-token"
TWILIO_FROM = "+15550000000"
DEAD_NUMBER = "+12025550199"


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Responder = Callable[[web.Request, bytes], Awaitable[web.StreamResponse] | web.StreamResponse]


@dataclass
class Receiver:
    """Records every request; answers 200 unless `answer()` scripted other statuses for a path."""

    responder: Responder | None = None
    requests: list[Received] = field(default_factory=list)
    scripted: dict[str, list[int]] = field(default_factory=dict)
    always: dict[str, int] = field(default_factory=dict)
    delay: float = 0.0
    port: int = 0
    _runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, path: str, *statuses: int) -> None:
        self.scripted.setdefault(path, []).extend(statuses)

    def at(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(
            Received(
                request.method,
                request.path,
                {k.lower(): v for k, v in request.headers.items()},
                body,
            )
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.responder is not None:
            answer = self.responder(request, body)
            return await answer if asyncio.iscoroutine(answer) else answer  # type: ignore[return-value]
        queue = self.scripted.get(request.path)
        status = queue.pop(0) if queue else self.always.get(request.path, 200)
        if 300 <= status < 400:
            return web.Response(status=status, headers={"Location": self.url("/elsewhere")})
        return web.Response(status=status, text="ok" if status < 300 else "nope")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = Receiver()
    await server.start()
    yield server
    await server.stop()


def _twilio(request: web.Request, body: bytes) -> web.Response:
    form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
    if form.get("To") == DEAD_NUMBER:
        return web.json_response(
            {"code": 21211, "message": "The 'To' number is not a valid phone number."}, status=400
        )
    return web.json_response({"sid": "SM" + secrets.token_hex(16), "status": "queued"}, status=201)


@pytest.fixture
async def twilio() -> AsyncIterator[Receiver]:
    server = Receiver(responder=_twilio)
    await server.start()
    yield server
    await server.stop()


def form_of(received: Received) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(received.body.decode()).items()}


class _Collect:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.startswith("bounce"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@dataclass
class Smtp:
    port: int
    collector: _Collect

    @property
    def messages(self) -> list[tuple[list[str], EmailMessage]]:
        return self.collector.messages

    def to(self, address: str) -> list[EmailMessage]:
        return [m for rcpt, m in self.messages if address in rcpt]


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    collector = _Collect()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    yield Smtp(port, collector)
    controller.stop()


@pytest.fixture
def delivery_settings(smtp: Smtp, twilio: Receiver) -> Settings:
    return Settings(
        environment="test",
        log_json=False,
        public_base_url=BASE_URL,
        outbound_allow_private=True,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_tls="off",
        smtp_from="Status <status@status.test>",
        twilio_account_sid=TWILIO_SID,
        twilio_auth_token=TWILIO_TOKEN,
        twilio_from_number=TWILIO_FROM,
        twilio_base_url=twilio.url(""),
        delivery_lease_seconds=30,
    )


def worker_env(servers: Servers, settings: Settings, **extra: str) -> dict[str, str]:
    return servers.env(
        STATUSPAGE_PUBLIC_BASE_URL=settings.public_base_url,
        STATUSPAGE_OUTBOUND_ALLOW_PRIVATE="true",
        STATUSPAGE_SMTP_HOST=settings.smtp_host or "",
        STATUSPAGE_SMTP_PORT=str(settings.smtp_port),
        STATUSPAGE_SMTP_TLS="off",
        STATUSPAGE_TWILIO_ACCOUNT_SID=TWILIO_SID,
        STATUSPAGE_TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
        STATUSPAGE_TWILIO_FROM_NUMBER=TWILIO_FROM,
        STATUSPAGE_TWILIO_BASE_URL=settings.twilio_base_url,
        **extra,
    )


async def run_worker(servers: Servers, settings: Settings) -> None:
    """A real arq worker in burst mode, in this process (a subprocess costs seconds of imports
    here): it runs the startup sweeps and every queued job against the test Redis, then stops."""
    worker = build_worker(
        settings, servers.database_url, servers.redis_url, burst=True, handle_signals=False
    )
    try:
        await asyncio.wait_for(worker.async_run(), 60)
    finally:
        with warnings.catch_warnings():
            # arq closes its redis pool through a method redis-py deprecated.
            warnings.simplefilter("ignore", DeprecationWarning)
            await worker.close()


class Clock:
    """A controllable clock for retries, quarantine and purge: real time plus what the test
    skipped ahead (rows written by the fan-out carry real timestamps)."""

    def __init__(self) -> None:
        self.offset = timedelta(seconds=1)

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, **delta: float) -> datetime:
        self.offset += timedelta(**delta)
        return self()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def deliverer(db: Database, delivery_settings: Settings) -> AsyncIterator[Deliverer]:
    made = Deliverer(delivery_settings, db, Outbound(delivery_settings))
    yield made
    await made.outbound.close()


async def relay_and_drain(deliverer: Deliverer, clock: Clock) -> Drained:
    """What the worker does for an event: relay (fan-out), then drain what is due."""
    await relay_pending(deliverer.db.sessionmaker)
    return await drain(deliverer, clock=clock)


async def add_subscriber(
    db: Database, page_id: str, mode: str, *, state: str = "active", **fields: Any
) -> Subscriber:
    row = Subscriber(
        id=new_id(),
        page_id=page_id,
        mode=mode,
        state=state,
        confirm_token=secrets.token_urlsafe(24),
        unsubscribe_token=secrets.token_urlsafe(24),
        secret=new_secret() if mode == "webhook" else None,
        skip_confirmation_notification=True,
        failure_count=0,
        **fields,
    )
    async with db.sessionmaker() as session, session.begin():
        session.add(row)
    return row


async def add_webhooks(db: Database, page_id: str, endpoint: str, count: int) -> list[str]:
    rows = [
        {
            "id": new_id(),
            "page_id": page_id,
            "mode": "webhook",
            "state": "active",
            "endpoint": f"{endpoint}?n={n}",
            "email": f"ops{n}@example.com",
            "confirm_token": secrets.token_urlsafe(24),
            "unsubscribe_token": secrets.token_urlsafe(24),
            "secret": new_secret(),
            "skip_confirmation_notification": True,
            "failure_count": 0,
        }
        for n in range(count)
    ]
    async with db.sessionmaker() as session, session.begin():
        await session.execute(insert(Subscriber), rows)
    return [str(r["id"]) for r in rows]


async def deliveries_of(db: Database, subscriber_id: str) -> list[Delivery]:
    async with db.sessionmaker() as session:
        rows = await session.scalars(
            select(Delivery).where(Delivery.subscriber_id == subscriber_id).order_by(Delivery.id)
        )
        return list(rows.all())


async def subscriber(db: Database, subscriber_id: str) -> Subscriber:
    async with db.sessionmaker() as session:
        row = await session.get(Subscriber, subscriber_id)
    assert row is not None
    return row
