"""Listing (filters, search, sort, 0-based pages), counts, the histogram and the bulk operations."""

from __future__ import annotations

from typing import Any

import httpx

from app.core.db import Database
from tests.api.test_auth import assert_error
from tests.conftest import Tenant
from tests.subscribers.helpers import PUBLIC_HOOK, base, events, quarantine, row, subscribe

ZERO = {"active": 0, "unconfirmed": 0, "quarantined": 0, "total": 0}


async def _mixed(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> dict[str, dict[str, Any]]:
    """Three confirmed emails, one unconfirmed email, an SMS, a webhook and a Slack subscriber."""
    made = {}
    for name in ("carol", "alice", "bob"):
        made[name] = await subscribe(client, tenant, email=f"{name}@example.com")
        token = (await row(db, made[name]["id"])).confirm_token
        assert (await client.get(f"/subscriptions/confirm/{token}")).status_code == 200
    made["pending"] = await subscribe(client, tenant, email="pending@example.org")
    made["sms"] = await subscribe(
        client, tenant, phone_number="2025550105", skip_confirmation_notification=True
    )
    made["hook"] = await subscribe(client, tenant, endpoint=PUBLIC_HOOK, email="ops@example.com")
    made["slack"] = await subscribe(client, tenant, mode="slack", endpoint="https://1.0.0.1/s")
    return made


async def _ids(client: httpx.AsyncClient, tenant: Tenant, query: str = "") -> list[str]:
    response = await client.get(f"{base(tenant)}{query}", headers=tenant.auth)
    assert response.status_code == 200, response.text
    return [s["id"] for s in response.json()]


async def test_filters_search_sort_and_pages(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    made = await _mixed(client, tenant, db)
    await quarantine(db, made["bob"]["id"])
    ids = {name: s["id"] for name, s in made.items()}

    # Default: active only (quarantined and unconfirmed left out), by the identifying field.
    assert await _ids(client, tenant) == [
        ids["sms"], ids["alice"], ids["carol"], ids["slack"], ids["hook"]
    ]  # fmt: skip
    assert await _ids(client, tenant, "?sort_direction=desc") == [
        ids["hook"], ids["slack"], ids["carol"], ids["alice"], ids["sms"]
    ]  # fmt: skip
    assert await _ids(client, tenant, "?state=quarantined") == [ids["bob"]]
    assert await _ids(client, tenant, "?state=unconfirmed") == [ids["pending"]]
    assert len(await _ids(client, tenant, "?state=all")) == 7
    assert await _ids(client, tenant, "?type=email&state=all") == [
        ids["alice"], ids["bob"], ids["carol"], ids["pending"]
    ]  # fmt: skip
    assert await _ids(client, tenant, "?type=sms") == [ids["sms"]]
    by_creation = await _ids(client, tenant, "?state=all&sort_field=created_at")
    assert by_creation == [s["id"] for s in made.values()]
    quarantined_first = await _ids(client, tenant, "?state=all&sort_field=quarantined_at")
    assert quarantined_first[0] == ids["bob"]

    # Pages count from 0 and skip page * limit.
    assert await _ids(client, tenant, "?limit=2") == [ids["sms"], ids["alice"]]
    assert await _ids(client, tenant, "?limit=2&page=0") == [ids["sms"], ids["alice"]]
    assert await _ids(client, tenant, "?limit=2&page=1") == [ids["carol"], ids["slack"]]
    assert await _ids(client, tenant, "?limit=2&page=2") == [ids["hook"]]
    assert await _ids(client, tenant, "?limit=2&page=3") == []

    # Search covers email, endpoint and phone number.
    assert await _ids(client, tenant, "?q=ALICE") == [ids["alice"]]
    assert await _ids(client, tenant, "?q=1.1.1.1") == [ids["hook"]]
    assert await _ids(client, tenant, "?q=555-0105") == [ids["sms"]]
    assert await _ids(client, tenant, "?q=example.org&state=all") == [ids["pending"]]
    assert await _ids(client, tenant, "?q=%25") == []
    relevance = await _ids(client, tenant, "?q=c&sort_field=relevance")
    assert relevance[0] == ids["carol"]  # a prefix match first

    for query in (
        "?state=unsubscribed", "?type=fax", "?page=-1", "?limit=0", "?sort_field=name",
        "?sort_direction=up", "?sort_field=relevance",
    ):  # fmt: skip
        response = await client.get(f"{base(tenant)}{query}", headers=tenant.auth)
        assert_error(response, 422)


async def test_count_and_histogram(client: httpx.AsyncClient, tenant: Tenant, db: Database) -> None:
    empty = await client.get(f"{base(tenant)}/histogram_by_state", headers=tenant.auth)
    assert empty.json() == dict.fromkeys(
        ("email", "sms", "webhook", "integration_partner", "slack", "teams"), ZERO
    )
    made = await _mixed(client, tenant, db)
    await quarantine(db, made["bob"]["id"])
    await client.delete(f"{base(tenant)}/{made['carol']['id']}", headers=tenant.auth)

    async def count(query: str = "") -> dict[str, int]:
        response = await client.get(f"{base(tenant)}/count{query}", headers=tenant.auth)
        assert response.status_code == 200, response.text
        body: dict[str, int] = response.json()
        return body

    zero = {"email": 0, "sms": 0, "webhook": 0, "integration_partner": 0, "slack": 0, "teams": 0}
    assert await count() == {**zero, "email": 1, "sms": 1, "webhook": 1, "slack": 1}
    assert await count("?state=all") == {**zero, "email": 3, "sms": 1, "webhook": 1, "slack": 1}
    assert await count("?state=quarantined") == {**zero, "email": 1}
    assert await count("?type=email&state=unconfirmed") == {**zero, "email": 1}
    assert await count("?type=sms&state=all") == {**zero, "sms": 1}
    assert_error(await client.get(f"{base(tenant)}/count?state=gone", headers=tenant.auth), 422)

    histogram = await client.get(f"{base(tenant)}/histogram_by_state.json", headers=tenant.auth)
    assert histogram.json() == {
        "email": {"active": 1, "unconfirmed": 1, "quarantined": 1, "total": 3},
        "sms": {"active": 1, "unconfirmed": 0, "quarantined": 0, "total": 1},
        "webhook": {"active": 1, "unconfirmed": 0, "quarantined": 0, "total": 1},
        "integration_partner": ZERO,
        "slack": {"active": 1, "unconfirmed": 0, "quarantined": 0, "total": 1},
        "teams": ZERO,
    }


async def test_bulk_unsubscribe(client: httpx.AsyncClient, tenant: Tenant, db: Database) -> None:
    made = await _mixed(client, tenant, db)
    url = f"{base(tenant)}/unsubscribe"
    before = await events(db)

    too_many = {"subscribers": [made["alice"]["id"]] * 101}
    assert_error(await client.post(url, headers=tenant.auth, json=too_many), 422)
    unknown = {"subscribers": [made["alice"]["id"], "nosuchthing1"]}
    assert_error(await client.post(url, headers=tenant.auth, json=unknown), 422)
    bodies: list[dict[str, Any]] = [
        {},
        {"subscribers": []},
        {"subscribers": "some"},
        {"subscribers": "all", "state": "x"},
    ]
    for body in bodies:
        assert_error(await client.post(url, headers=tenant.auth, json=body), 422)
    assert (await row(db, made["alice"]["id"])).state == "active"

    # Listed ids in another state (pending is unconfirmed, default state active) are left alone.
    chosen = [made["alice"]["id"], made["pending"]["id"]]
    response = await client.post(url, headers=tenant.auth, json={"subscribers": chosen})
    assert response.status_code == 201, response.text
    assert response.json() == {"count": 1, "subscriber_ids": [made["alice"]["id"]]}
    assert (await row(db, made["pending"]["id"])).state == "unconfirmed"
    assert (await events(db))[len(before) :] == [
        ("subscriber.unsubscribed", tenant.page_id, made["alice"]["id"])
    ]

    # "all" of a type and state, here without goodbye messages; form encoding works too.
    response = await client.post(
        url,
        headers=tenant.auth,
        data={"subscribers": "all", "type": "email", "state": "all",
              "skip_unsubscription_notification": "true"},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    assert response.json()["count"] == 3
    assert len(await events(db)) == len(before) + 1
    remaining = await client.get(f"{base(tenant)}/count?state=all", headers=tenant.auth)
    assert remaining.json()["email"] == 0 and remaining.json()["sms"] == 1


async def test_bulk_all_is_capped(client: httpx.AsyncClient, tenant: Tenant, db: Database) -> None:
    async with db.sessionmaker() as session, session.begin():
        from app.models import Subscriber

        for n in range(101):
            session.add(
                Subscriber(
                    page_id=tenant.page_id, mode="email", state="active",
                    email=f"u{n}@example.com", confirm_token=f"c{n}", unsubscribe_token=f"u{n}",
                    skip_confirmation_notification=False, failure_count=0,
                )
            )  # fmt: skip
    response = await client.post(
        f"{base(tenant)}/unsubscribe", headers=tenant.auth, json={"subscribers": "all"}
    )
    assert "at most 100" in assert_error(response, 422)["message"]
    assert (await client.get(f"{base(tenant)}/count", headers=tenant.auth)).json()["email"] == 101


async def test_reactivate_and_bulk_resend(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    made = await _mixed(client, tenant, db)
    await quarantine(db, made["bob"]["id"], made["hook"]["id"])
    url = f"{base(tenant)}/reactivate"

    response = await client.post(
        url, headers=tenant.auth, json={"subscribers": [made["bob"]["id"], made["alice"]["id"]]}
    )
    assert response.status_code == 201, response.text
    assert response.json()["subscriber_ids"] == [made["bob"]["id"]]
    bob = await row(db, made["bob"]["id"])
    assert (bob.state, bob.quarantined_at, bob.purge_at, bob.failure_count) == (
        "active", None, None, 0
    )  # fmt: skip
    typed = await client.post(
        url, headers=tenant.auth, json={"subscribers": "all", "type": "email"}
    )
    assert typed.json()["count"] == 0  # the webhook is not an email subscriber
    everything = await client.post(url, headers=tenant.auth, json={"subscribers": "all"})
    assert everything.json()["subscriber_ids"] == [made["hook"]["id"]]
    assert (
        await client.get(f"{base(tenant)}/count?state=quarantined", headers=tenant.auth)
    ).json()["webhook"] == 0
    assert_error(
        await client.post(url, headers=tenant.auth, json={"subscribers": ["x"] * 101}), 422
    )

    before = await events(db)
    resend = f"{base(tenant)}/resend_confirmation"
    response = await client.post(
        resend,
        headers=tenant.auth,
        json={"subscribers": [made["pending"]["id"], made["alice"]["id"]]},
    )
    assert response.status_code == 201, response.text
    assert response.json()["subscriber_ids"] == [made["pending"]["id"]]
    response = await client.post(resend, headers=tenant.auth, data={"subscribers[]": "all"})
    assert_error(response, 422)  # ["all"] is not an id of this page
    response = await client.post(resend, headers=tenant.auth, data={"subscribers": "all"})
    assert response.json()["count"] == 1
    assert (await events(db))[len(before) :] == [
        ("subscriber.confirmation", tenant.page_id, made["pending"]["id"])
    ] * 2
