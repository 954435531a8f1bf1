"""Sign-in for the viewers of an audience-specific page, with no password stored by us: a one-time
link sent by email, then a session cookie.

- A sign-in request for an address that is a page access user of the page adds an outbox event
  (`page_access_user.signin`: the user, the page, a request id; no secret). The worker's relay
  handles it here: it mints the token (`secrets.token_urlsafe(32)`), keeps only its SHA-256 in
  Redis with its expiry, and sends the link `{page}/auth/callback/{token}` by SMTP. So the token
  exists only in the email.
- Following the link redeems the token once (GETDEL) if it is not expired (the expiry is in the
  stored value, checked against the caller's `now`), and opens a session: an opaque random id whose
  SHA-256 keys the user and page in Redis; the cookie holds the id.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Any

import aiosmtplib
import orjson
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from redis.asyncio import Redis
from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

import app.notifications
from app.core.config import Settings
from app.core.timefmt import utcnow
from app.models import OutboxEvent, Page, PageAccessGroup, PageAccessUser
from app.notifications.channels.email import _client as smtp_client
from app.notifications.fanout import PAGE_ACCESS_SIGNIN
from app.notifications.outbox import register
from app.public.format import page_url

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "statuspage:signin-token:"
SESSION_PREFIX = "statuspage:viewer-session:"
COOKIE_PREFIX = "statuspage_viewer_"
_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(app.notifications.__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def cookie_name(page_id: str) -> str:
    """One cookie per page: pages addressed by /p/{page_id} share a host."""
    return COOKIE_PREFIX + page_id


# Pages ----------------------------------------------------------------------------------------


async def is_audience_specific(session: AsyncSession, page_id: str) -> bool:
    users = exists().where(PageAccessUser.page_id == page_id)
    groups = exists().where(PageAccessGroup.page_id == page_id)
    return bool(await session.scalar(select(users | groups)))


def base_url_of(settings: Settings, page: Page) -> str:
    """The page's canonical public URL (as its HTML links are built)."""
    return page_url(
        settings.public_base_url, settings.public_base_domain, page.id, page.subdomain, page.domain
    )


async def viewer_by_email(session: AsyncSession, page_id: str, email: str) -> str | None:
    return await session.scalar(
        select(PageAccessUser.id).where(
            PageAccessUser.page_id == page_id,
            func.lower(PageAccessUser.email) == email.strip().lower(),
        )
    )


async def viewer_exists(session: AsyncSession, page_id: str, user_id: str) -> bool:
    found = await session.scalar(
        select(PageAccessUser.id).where(
            PageAccessUser.id == user_id, PageAccessUser.page_id == page_id
        )
    )
    return found is not None


# Tokens ---------------------------------------------------------------------------------------


async def issue_token(
    redis: Redis, *, page_id: str, page_access_user_id: str, ttl_seconds: int, now: datetime
) -> str:
    """A new one-time token; only its hash is kept, with the user, the page and the expiry."""
    token = secrets.token_urlsafe(32)
    value = orjson.dumps(
        {
            "page_id": page_id,
            "page_access_user_id": page_access_user_id,
            "expires_at": (now + timedelta(seconds=ttl_seconds)).timestamp(),
        }
    )
    # Redis forgets it a little after its expiry; the stored expiry is what decides.
    await redis.set(TOKEN_PREFIX + digest(token), value, ex=ttl_seconds + 60)
    return token


async def redeem_token(redis: Redis, token: str, *, page_id: str, now: datetime) -> str | None:
    """The page access user the token signs in, once: a token is gone after its first use (even
    a use on the wrong page or after its expiry)."""
    value = await redis.getdel(TOKEN_PREFIX + digest(token))
    if not value:
        return None
    stored: dict[str, Any] = orjson.loads(value)
    if stored.get("page_id") != page_id or float(stored["expires_at"]) <= now.timestamp():
        return None
    user_id = stored.get("page_access_user_id")
    return str(user_id) if user_id else None


# Sessions -------------------------------------------------------------------------------------


async def open_session(
    redis: Redis, *, page_id: str, page_access_user_id: str, ttl_seconds: int
) -> str:
    session_id = secrets.token_urlsafe(32)
    value = orjson.dumps({"page_id": page_id, "page_access_user_id": page_access_user_id})
    await redis.set(SESSION_PREFIX + digest(session_id), value, ex=ttl_seconds)
    return session_id


async def session_viewer(redis: Redis, session_id: str, page_id: str) -> str | None:
    """The page access user of a session of this page, if it is open."""
    if not session_id or len(session_id) > 128:
        return None
    value = await redis.get(SESSION_PREFIX + digest(session_id))
    if not value:
        return None
    stored: dict[str, Any] = orjson.loads(value)
    if stored.get("page_id") != page_id:
        return None
    user_id = stored.get("page_access_user_id")
    return str(user_id) if user_id else None


async def close_session(redis: Redis, session_id: str) -> None:
    await redis.delete(SESSION_PREFIX + digest(session_id))


# The email (sent by the worker's outbox relay) ------------------------------------------------


@dataclass(slots=True)
class Mailer:
    """What the relay handler needs in the worker process: its settings and Redis."""

    settings: Settings
    redis: Redis


_MAILER: Mailer | None = None


def configure(settings: Settings, redis: Redis) -> None:
    """Called by the worker at start-up (workers/settings.py)."""
    global _MAILER
    _MAILER = Mailer(settings, redis)


def signin_message(
    *, page: Page, to: str, link: str, minutes: int, default_from: str
) -> EmailMessage:
    subject = f"[{page.name}] Your sign-in link"
    fields = {
        "subject": subject,
        "page_name": page.name,
        "footer": page.notifications_email_footer,
        "signin_url": link,
        "minutes": minutes,
    }
    sender = default_from
    if page.notifications_from_email:
        sender = formataddr((page.name, page.notifications_from_email))
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = to
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=domain)
    message["X-Statuspage-Event"] = PAGE_ACCESS_SIGNIN
    message.set_content(_TEMPLATES.get_template("signin.txt").render(fields))
    message.add_alternative(_TEMPLATES.get_template("signin.html").render(fields), subtype="html")
    return message


@register(PAGE_ACCESS_SIGNIN)
async def send_signin_link(session: AsyncSession, event: OutboxEvent) -> None:
    """Mint the token and send the link. A request older than a token's life is dropped; an SMTP
    failure raises, so the relay tries the event again on its next sweep (with a new token)."""
    mailer = _MAILER
    if mailer is None:
        raise RuntimeError("sign-in mail is not configured in this process")
    settings = mailer.settings
    ttl = settings.viewer_signin_token_seconds
    now = utcnow()
    if event.created_at is not None and (now - event.created_at).total_seconds() > ttl:
        logger.info("sign-in request too old to answer", extra={"event_id": event.id})
        return
    user_id = str(event.payload.get("page_access_user_id") or "")
    user = await session.get(PageAccessUser, user_id) if user_id else None
    page = await session.get(Page, user.page_id) if user is not None else None
    if user is None or page is None:
        return  # deleted since
    if not settings.smtp_host:
        logger.warning("sign-in link not sent: SMTP is not configured")
        return
    token = await issue_token(
        mailer.redis, page_id=page.id, page_access_user_id=user.id, ttl_seconds=ttl, now=now
    )
    link = f"{base_url_of(settings, page)}/auth/callback/{token}"
    message = signin_message(
        page=page, to=user.email, link=link, minutes=ttl // 60, default_from=settings.smtp_from
    )
    smtp = smtp_client(settings)
    await smtp.connect()
    try:
        await smtp.send_message(message)
    finally:
        try:
            await smtp.quit()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            smtp.close()
