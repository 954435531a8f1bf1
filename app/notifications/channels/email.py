"""Email over SMTP (aiosmtplib): a batch shares a few connections, each sending its share in turn."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import aiosmtplib

from app.core.config import Settings
from app.notifications.channels.base import Item, Outbound, Outcome, error_text
from app.notifications.payloads import email_bytes

SMTP_TIMEOUT = 30.0
ACCEPTED = 250  # recorded as the attempt's status code


def _client(settings: Settings) -> aiosmtplib.SMTP:
    mode = settings.smtp_tls
    return aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        use_tls=mode == "tls",
        start_tls={"auto": None, "starttls": True, "tls": False, "off": False}[mode],
        username=settings.smtp_user,
        password=settings.smtp_password,
        timeout=SMTP_TIMEOUT,
    )


def _refusal(delivery_id: int, exc: aiosmtplib.SMTPException, latency: float) -> Outcome:
    """A 5xx answer will not change on retry; refused at RCPT, the address itself is dead."""
    code: int | None = None
    dead = False
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        code = exc.recipients[0].code
        dead = code >= 500
    elif isinstance(exc, aiosmtplib.SMTPResponseException):
        code = exc.code
    permanent = code is not None and code >= 500
    return Outcome(
        delivery_id,
        False,
        code,
        latency,
        error=error_text(exc),
        permanent=permanent,
        dead_address=dead,
    )


async def _send_share(
    settings: Settings, share: list[Item], report: Callable[[Outcome], None]
) -> None:
    smtp: aiosmtplib.SMTP | None = None
    try:
        for index, item in enumerate(share):
            delivery_id = item.claimed.delivery_id
            if not item.claimed.recipient.email:
                report(Outcome(delivery_id, False, error="no email address", permanent=True))
                continue
            started = time.perf_counter()
            try:
                if smtp is None or not smtp.is_connected:
                    smtp = _client(settings)
                    await smtp.connect()
                outgoing = email_bytes(item.event, item.claimed.recipient, settings.smtp_from)
                await smtp.sendmail(outgoing.sender, [outgoing.recipient], outgoing.data)
            except (aiosmtplib.SMTPRecipientsRefused, aiosmtplib.SMTPResponseException) as exc:
                report(_refusal(delivery_id, exc, (time.perf_counter() - started) * 1000))
                continue
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                # The connection is gone: this message and the rest of the share are retried later.
                error = error_text(exc)
                for rest in share[index:]:
                    report(Outcome(rest.claimed.delivery_id, False, error=error))
                smtp = None
                return
            latency = (time.perf_counter() - started) * 1000
            report(Outcome(delivery_id, True, ACCEPTED, latency))
    finally:
        if smtp is not None and smtp.is_connected:
            try:
                await smtp.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                smtp.close()


async def send_all(
    outbound: Outbound, items: list[Item], report: Callable[[Outcome], None]
) -> None:
    settings = outbound.settings
    if not settings.smtp_host:
        for item in items:
            report(
                Outcome(
                    item.claimed.delivery_id, False, error="SMTP not configured", permanent=True
                )
            )
        return
    connections = max(1, min(settings.smtp_connections, len(items)))
    shares = [items[n::connections] for n in range(connections)]
    await asyncio.gather(*(_send_share(settings, share, report) for share in shares))
