"""What a status page must never give away: subscribers' contacts in any public document, a token
that works for another purpose than its own, and oversized requests. (A delivery to an address
that turned private after the subscription: tests/notifications/test_rebinding.py.)"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import select

from app.core.db import Database
from app.models import Subscriber
from tests.conftest import Tenant
from tests.incidents.helpers import create_incident, revision

EMAIL = "secret.reader@example.com"
PHONE = "2025550199"
HOOK = "http://10.20.30.40/very-secret-path"

DOCUMENTS = (
    "/api/v2/summary.json",
    "/api/v2/status.json",
    "/api/v2/components.json",
    "/api/v2/incidents.json",
    "/api/v2/incidents/unresolved.json",
    "/api/v2/scheduled-maintenances.json",
    "/api/v2/scheduled-maintenances/upcoming.json",
    "/api/v2/scheduled-maintenances/active.json",
    "/history.rss",
    "/history.atom",
    "/",
    "/embed/script.js",
)


async def _subscribe(client: httpx.AsyncClient, tenant: Tenant, **fields: str) -> dict[str, str]:
    response = await client.post(
        f"/v1/pages/{tenant.page_id}/subscribers",
        headers=tenant.auth,
        json={"subscriber": {**fields, "skip_confirmation_notification": True}},
    )
    assert response.status_code == 201, response.text
    created: dict[str, str] = response.json()
    return created


async def _fresh(client: httpx.AsyncClient, db: Database, tenant: Tenant, path: str) -> str:
    """The document once it shows the latest revision (snapshots follow writes within 1 s)."""
    wanted = await revision(db, tenant.page_id)
    deadline = time.monotonic() + 3
    while True:
        response = await client.get(f"/p/{tenant.page_id}{path}")
        assert response.status_code == 200, f"{path}: {response.status_code}"
        etag = response.headers.get("etag", "")
        if f"-{wanted}" in etag or time.monotonic() > deadline:
            return response.text
        await asyncio.sleep(0.05)


async def test_subscriber_contacts_never_appear_in_public_documents(
    make_client: Callable[..., Any], tenant: Tenant, db: Database
) -> None:
    client: httpx.AsyncClient = await make_client(outbound_allow_private=True)
    await _subscribe(client, tenant, email=EMAIL)
    await _subscribe(client, tenant, phone_number=PHONE, phone_country="US")
    await _subscribe(client, tenant, endpoint=HOOK, email=EMAIL)
    incident = await create_incident(client, tenant, name="Checkout errors", body="Looking")
    await client.post(
        f"/v1/pages/{tenant.page_id}/incidents/{incident['id']}/subscribers",
        headers=tenant.auth,
        json={"subscriber": {"email": "follower@example.com"}},
    )
    pages = [*DOCUMENTS, f"/incidents/{incident['id']}"]
    for path in pages:
        text = await _fresh(client, db, tenant, path)
        for secret in (EMAIL, "follower@example.com", PHONE, "555-0199", HOOK, "very-secret"):
            assert secret not in text, f"{path} shows {secret}"


async def test_tokens_are_unguessable_and_single_purpose(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    created = await client.post(
        f"/v1/pages/{tenant.page_id}/subscribers",
        headers=tenant.auth,
        json={"subscriber": {"email": EMAIL}},
    )
    assert created.status_code == 201
    async with db.sessionmaker() as session:
        row = await session.scalar(select(Subscriber).where(Subscriber.id == created.json()["id"]))
    assert row is not None and row.state == "unconfirmed"
    assert row.confirm_token != row.unsubscribe_token
    assert min(len(row.confirm_token), len(row.unsubscribe_token)) >= 43  # 256 random bits
    # Each token only does its own job: the unsubscribe link confirms nothing, and vice versa.
    assert (await client.post(f"/subscriptions/confirm/{row.unsubscribe_token}")).status_code == 404
    assert (await client.post(f"/subscriptions/unsubscribe/{row.confirm_token}")).status_code == 404
    assert (await client.get(f"/subscriptions/confirm/{row.id}")).status_code == 404
    async with db.sessionmaker() as session:
        again = await session.get(Subscriber, row.id)
    assert again is not None and again.state == "unconfirmed"
    confirmed = await client.post(f"/subscriptions/confirm/{row.confirm_token}")
    assert confirmed.status_code == 200


async def test_oversized_bodies_are_refused(client: httpx.AsyncClient, tenant: Tenant) -> None:
    big = "x" * (1024 * 1024 + 1)
    for path in (
        f"/v1/pages/{tenant.page_id}/incidents",
        f"/p/{tenant.page_id}/api/v2/subscribers.json",
    ):
        response = await client.post(
            path,
            headers={**tenant.auth, "Content-Type": "application/json"},
            content=f'{{"incident": {{"name": "{big}"}}}}',
        )
        assert response.status_code == 413, path
        assert set(response.json()) >= {"message", "error"}


async def test_absurd_page_numbers_are_422(client: httpx.AsyncClient, tenant: Tenant) -> None:
    """Found by bench/fuzz.py: an offset past a bigint made the database fail (503)."""
    huge = "1523344687487517184"
    for path in (
        f"/v1/pages?per_page=100&page={huge}",
        f"/v1/pages/{tenant.page_id}/components?page={huge}",
        f"/v1/pages/{tenant.page_id}/incidents?page={huge}",
        f"/v1/pages/{tenant.page_id}/subscribers?page={huge}",
    ):
        response = await client.get(path, headers=tenant.auth)
        assert response.status_code == 422, f"{path}: {response.status_code}"
        assert set(response.json()) >= {"message", "error"}
    fine = await client.get(f"/v1/pages/{tenant.page_id}/components?page=1000", headers=tenant.auth)
    assert fine.status_code == 200 and fine.json() == []
