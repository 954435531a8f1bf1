"""Viewers sign in to an audience-specific page by a one-time link sent by email: the request, the
email sent by a real worker (burst mode) to a real SMTP server, the link (once, before it expires),
the session cookie, sign-out; no user enumeration; tokens and sessions kept only as hashes."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import select

from app.audiences import signin
from app.core.config import Settings
from app.core.db import Database
from app.core.timefmt import utcnow
from app.models import OutboxEvent
from tests.audiences.helpers import create_group, create_user
from tests.conftest import Servers, Tenant
from tests.notifications.conftest import Smtp, run_worker, smtp
from tests.public.conftest import component, feed

__all__ = ["smtp"]  # the fixture, imported for these tests

BASE = "http://testserver"


def worker_settings(smtp: Smtp) -> Settings:
    return Settings(
        environment="test",
        log_json=False,
        public_base_url=BASE,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_tls="off",
        smtp_from="Status <status@status.test>",
    )


def link_in(smtp: Smtp, address: str) -> str:
    [message] = [m for rcpt, m in smtp.messages if address.lower() in map(str.lower, rcpt)]
    assert message["Subject"].endswith("Your sign-in link")
    text = message.get_body(("plain",))
    assert text is not None
    found = re.search(r"http://testserver(/p/\S+/auth/callback/\S+)", text.get_content())
    assert found is not None, text.get_content()
    return found.group(1)


async def test_sign_in_by_email_link(
    make_client: Callable[..., Any],
    tenant: Tenant,
    servers: Servers,
    smtp: Smtp,
    db: Database,
) -> None:
    client: httpx.AsyncClient = await make_client(public_base_url=BASE)
    page_id = tenant.page_id
    api = (await component(client, tenant, "API"))["id"]
    await component(client, tenant, "Billing")
    partners = await create_group(client, tenant, "Partners", component_ids=[api])
    await create_user(client, tenant, "Ada@Example.com", page_access_group_ids=[partners["id"]])

    # The same answer whether or not the address may view the page; a form post gets HTML.
    known = await client.post(f"/p/{page_id}/auth/signin", json={"email": "ada@example.com"})
    unknown = await client.post(f"/p/{page_id}/auth/signin", json={"email": "eve@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    form = await client.post(
        f"/p/{page_id}/auth/signin",
        data={"email": "nobody@example.com"},
        headers={"Accept": "text/html"},
    )
    assert form.status_code == 200 and "Check your email" in form.text

    # One outbox event, for Ada, carrying no secret.
    async with db.sessionmaker() as session:
        events = (
            await session.scalars(
                select(OutboxEvent).where(OutboxEvent.kind == "page_access_user.signin")
            )
        ).all()
    assert len(events) == 1
    assert set(events[0].payload) == {"page_access_user_id", "page_id", "request_id"}

    await run_worker(servers, worker_settings(smtp))
    assert len(smtp.messages) == 1
    path = link_in(smtp, "Ada@Example.com")
    token = path.rsplit("/", 1)[1]

    # Redis holds the token's hash only.
    redis = Redis.from_url(servers.redis_url)
    try:
        keys = [k.decode() for k in await redis.keys(f"{signin.TOKEN_PREFIX}*")]
        assert keys == [signin.TOKEN_PREFIX + signin.digest(token)]
        assert token.encode() not in (await redis.get(keys[0]) or b"")
    finally:
        await redis.aclose()

    # Anonymous: nothing.
    assert (await client.get(feed(page_id, "summary.json"))).status_code == 401

    followed = await client.get(path)
    assert followed.status_code == 303
    assert followed.headers["location"] == f"{BASE}/p/{page_id}/"
    set_cookie = followed.headers["set-cookie"]
    assert set_cookie.startswith(signin.cookie_name(page_id) + "=")
    assert "HttpOnly" in set_cookie and "SameSite=lax" in set_cookie and "Path=/" in set_cookie
    assert "Secure" not in set_cookie  # http base URL
    session_id = followed.cookies[signin.cookie_name(page_id)]
    client.cookies.clear()  # the client would keep it; each request below says who it is
    auth = {"Cookie": f"{signin.cookie_name(page_id)}={session_id}"}

    summary = await client.get(feed(page_id, "summary.json"), headers=auth)
    assert summary.status_code == 200
    assert [c["name"] for c in summary.json()["components"]] == ["API"]
    page = await client.get(f"/p/{page_id}/", headers=auth)
    assert page.status_code == 200 and "API" in page.text and "Billing" not in page.text

    # The link works once.
    second = await client.get(path)
    assert second.status_code == 410
    client.cookies.clear()

    # Sign-out ends the session.
    out = await client.post(f"/p/{page_id}/auth/signout", headers=auth)
    assert out.status_code == 303
    assert out.headers["location"].endswith(f"/p/{page_id}/auth/signin")
    client.cookies.clear()
    assert (await client.get(feed(page_id, "summary.json"), headers=auth)).status_code == 401


async def test_secure_cookie_on_https_pages(
    make_client: Callable[..., Any], tenant: Tenant, servers: Servers
) -> None:
    client: httpx.AsyncClient = await make_client(public_base_url="https://status.example.com")
    user = await create_user(client, tenant, "ada@example.com")
    redis = Redis.from_url(servers.redis_url)
    try:
        token = await signin.issue_token(
            redis,
            page_id=tenant.page_id,
            page_access_user_id=user["id"],
            ttl_seconds=900,
            now=utcnow(),
        )
    finally:
        await redis.aclose()
    followed = await client.get(f"/p/{tenant.page_id}/auth/callback/{token}")
    assert followed.status_code == 303
    assert followed.headers["location"] == f"https://status.example.com/p/{tenant.page_id}/"
    assert "Secure" in followed.headers["set-cookie"]


async def test_tokens_expire_and_work_once(servers: Servers, clean: None) -> None:
    redis = Redis.from_url(servers.redis_url)
    now = utcnow()

    async def issue() -> str:
        return await signin.issue_token(
            redis, page_id="page1", page_access_user_id="user1", ttl_seconds=900, now=now
        )

    try:
        # 14 minutes later it works, once.
        token = await issue()
        later = now + timedelta(minutes=14)
        assert await signin.redeem_token(redis, token, page_id="page1", now=later) == "user1"
        assert await signin.redeem_token(redis, token, page_id="page1", now=later) is None

        # 15 minutes later it no longer works (and is gone).
        token = await issue()
        expired = now + timedelta(minutes=15)
        assert await signin.redeem_token(redis, token, page_id="page1", now=expired) is None
        assert await signin.redeem_token(redis, token, page_id="page1", now=now) is None

        # A link of another page signs nobody in.
        token = await issue()
        assert await signin.redeem_token(redis, token, page_id="page2", now=now) is None
        assert await signin.redeem_token(redis, "made-up", page_id="page1", now=now) is None
    finally:
        await redis.aclose()


async def test_no_signin_on_pages_without_audience(
    make_client: Callable[..., Any], tenant: Tenant
) -> None:
    client: httpx.AsyncClient = await make_client()
    page_id = tenant.page_id
    assert (await client.get(f"/p/{page_id}/auth/signin")).status_code == 404
    response = await client.post(f"/p/{page_id}/auth/signin", json={"email": "a@example.com"})
    assert response.status_code == 404
    assert (await client.get(f"/p/{page_id}/auth/callback/whatever")).status_code == 404


@pytest.mark.parametrize("email", ["", "x"])
async def test_signin_validates_email(
    make_client: Callable[..., Any], tenant: Tenant, email: str
) -> None:
    client: httpx.AsyncClient = await make_client()
    await create_user(client, tenant, "ada@example.com")
    response = await client.post(f"/p/{tenant.page_id}/auth/signin", json={"email": email})
    assert response.status_code == 422
