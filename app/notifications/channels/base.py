"""What every channel shares: the per-process outbound clients, a claimed delivery, its outcome."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from app.core.config import Settings
from app.notifications.payloads import Event, Recipient
from app.notifications.targets import UnsafeTarget, check_public_target, unsafe_reason

MAX_RESPONSE_BYTES = 64 * 1024
TARGET_CHECK_SECONDS = 10.0
ERROR_CHARS = 500


@dataclass(slots=True)
class Claimed:
    """A delivery claimed for sending (its lease is held by this worker)."""

    delivery_id: int
    event_id: int
    event_kind: str
    channel: str
    attempts: int  # counting this one
    recipient: Recipient


@dataclass(slots=True)
class Outcome:
    delivery_id: int
    ok: bool
    status_code: int | None = None
    latency_ms: float | None = None
    error: str | None = None
    # No point retrying (a bad address, a refused number, no provider configured).
    permanent: bool = False
    # The address itself is dead (hard bounce, invalid number): quarantine the subscriber.
    dead_address: bool = False
    # Nothing was attempted (the subscriber left in the meantime).
    dropped: bool = False
    # The start of a refusal's body, for channels whose provider explains itself there.
    answer: bytes = b""


def error_text(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return (f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)[:ERROR_CHARS]


class PublicResolver(AbstractResolver):
    """Resolves through the default resolver and refuses non-public answers: the address checked
    is the address connected to, so a DNS answer that changes after the URL check (rebinding)
    cannot lead a request into the private network."""

    def __init__(self) -> None:
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            reason = unsafe_reason(ipaddress.ip_address(result["host"]))
            if reason is not None:
                raise OSError(f"{host} resolves to {result['host']}, {reason}")
        return results

    async def close(self) -> None:
        await self._inner.close()


class Outbound:
    """Built once per worker process: one aiohttp session (measured at about 10x httpx's rate on
    this path, see README), one cap on requests in flight, and a short memory of checked URLs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        resolver = None if settings.outbound_allow_private else PublicResolver()
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=settings.delivery_concurrency, limit_per_host=0, resolver=resolver
            ),
            timeout=aiohttp.ClientTimeout(total=settings.webhook_timeout_seconds),
            auto_decompress=False,
            skip_auto_headers=("User-Agent",),
        )
        self.in_flight = asyncio.Semaphore(settings.delivery_concurrency)
        self._checked: dict[str, tuple[float, str | None]] = {}

    async def check_target(self, url: str) -> None:
        """check_public_target, remembered for a few seconds per URL (a fan-out sends thousands of
        requests to few hosts); the resolver above re-checks every connection anyway."""
        if self.settings.outbound_allow_private:
            return
        now = time.monotonic()
        known = self._checked.get(url)
        if known is None or known[0] < now:
            try:
                await check_public_target(url, allow_private=False)
                known = (now + TARGET_CHECK_SECONDS, None)
            except UnsafeTarget as exc:
                known = (now + TARGET_CHECK_SECONDS, str(exc))
            if len(self._checked) > 10_000:
                self._checked.clear()
            self._checked[url] = known
        if known[1] is not None:
            raise UnsafeTarget(known[1])

    async def post(
        self, delivery_id: int, url: str, data: Any, headers: dict[str, str], **options: Any
    ) -> Outcome:
        """One POST; only a 2xx answer is a success (redirects are not followed: 3xx fails)."""
        started = time.perf_counter()
        try:
            await self.check_target(url)
            async with (
                self.in_flight,
                self.http.post(
                    url, data=data, headers=headers, allow_redirects=False, **options
                ) as response,
            ):
                answer = await _drain_body(response)
                status = response.status
        except UnsafeTarget as exc:
            return Outcome(delivery_id, False, error=f"refused target: {exc}"[:ERROR_CHARS])
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            latency = (time.perf_counter() - started) * 1000
            return Outcome(delivery_id, False, latency_ms=latency, error=error_text(exc))
        latency = (time.perf_counter() - started) * 1000
        if 200 <= status < 300:
            return Outcome(delivery_id, True, status, latency)
        return Outcome(
            delivery_id, False, status, latency, error=f"HTTP {status}", answer=answer[:4096]
        )

    async def close(self) -> None:
        await self.http.close()


async def _drain_body(response: aiohttp.ClientResponse) -> bytes:
    """Read the answer so the connection can be reused, but not without limit; answers its start."""
    first = b""
    read = 0
    while not response.content.at_eof():
        chunk = await response.content.read(MAX_RESPONSE_BYTES)
        if not chunk:
            break
        first = first or chunk
        read += len(chunk)
        if read > MAX_RESPONSE_BYTES:
            response.close()
            break
    return first


@dataclass(slots=True)
class Item:
    claimed: Claimed
    event: Event
