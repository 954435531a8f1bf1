"""The public self-service endpoints: subscribe (form, JSON, browser), confirm, unsubscribe."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from app.core.db import Database
from tests.api.test_auth import assert_error
from tests.components.test_components import create
from tests.conftest import Tenant
from tests.incidents.helpers import create_incident
from tests.subscribers.helpers import (
    PUBLIC_HOOK,
    SUBSCRIBER_FIELDS,
    base,
    events,
    row,
    set_page,
)

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
BROWSER = {**FORM, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def url(tenant: Tenant) -> str:
    return f"/p/{tenant.page_id}/api/v2/subscribers.json"


async def test_subscribe_with_a_form_and_confirm(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    api = await create(client, tenant, "API")
    response = await client.post(
        url(tenant),
        headers=FORM,
        content=f"subscriber[email]=reader@example.com&subscriber[component_ids][]={api['id']}",
    )
    assert response.status_code == 201, response.text
    created = response.json()["subscriber"]
    assert set(response.json()) == {"subscriber"}
    assert set(created) == SUBSCRIBER_FIELDS  # no token, no secret
    assert (created["mode"], created["state"]) == ("email", "unconfirmed")
    assert created["components"] == [api["id"]]
    assert await events(db) == [("subscriber.confirmation", tenant.page_id, created["id"])]

    token = (await row(db, created["id"])).confirm_token
    for method in ("GET", "GET", "POST"):  # idempotent, and a GET is enough
        confirmed = await client.request(method, f"/subscriptions/confirm/{token}")
        assert confirmed.status_code == 200
        assert confirmed.headers["content-type"].startswith("text/html")
        assert "Subscription confirmed" in confirmed.text
        assert confirmed.headers["cache-control"] == "no-store"
    assert (await row(db, created["id"])).state == "active"
    # The prefix the public read path maps Host-addressed requests onto works too.
    again = await client.get(f"/p/{tenant.page_id}/subscriptions/confirm/{token}")
    assert again.status_code == 200
    assert_error(await client.get(f"/p/nosuchpage12/subscriptions/confirm/{token}"), 404)
    assert_error(await client.get("/subscriptions/confirm/not-a-token"), 404)
    browser_404 = await client.get("/subscriptions/confirm/nope", headers={"Accept": "text/html"})
    assert browser_404.status_code == 404
    assert browser_404.headers["content-type"].startswith("text/html")


async def test_subscribe_json_sms_webhook_and_incident(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    sms = await client.post(url(tenant), json={"subscriber": {"phone_number": "2025550105"}})
    assert sms.status_code == 201, sms.text
    assert sms.json()["subscriber"]["display_phone_number"] == "+1 (202) 555-0105"
    assert sms.json()["subscriber"]["state"] == "unconfirmed"

    hook = await client.post(
        url(tenant), json={"subscriber": {"endpoint": PUBLIC_HOOK, "email": "o@example.com"}}
    )
    assert hook.status_code == 201, hook.text
    assert hook.json()["subscriber"]["mode"] == "webhook"
    assert "secret" not in hook.json()["subscriber"]
    slack = await client.post(
        url(tenant), json={"subscriber": {"mode": "slack", "email": "s@example.com"}}
    )
    assert slack.json()["subscriber"]["mode"] == "email"  # no Slack through the public form

    incident = await create_incident(client, tenant)
    watcher = await client.post(
        url(tenant), json={"subscriber": {"email": "w@example.com", "incident": incident["id"]}}
    )
    assert watcher.status_code == 201, watcher.text
    incident_list = await client.get(
        f"/v1/pages/{tenant.page_id}/incidents/{incident['id']}/subscribers", headers=tenant.auth
    )
    assert [s["id"] for s in incident_list.json()] == [watcher.json()["subscriber"]["id"]]
    other = await client.post(
        url(tenant), json={"subscriber": {"email": "w@example.com", "incident": "nosuchincid1"}}
    )
    assert_error(other, 422)
    confirmations = [s for _, _, s in await events(db, "subscriber.confirmation")]
    assert len(confirmations) == 3  # SMS, slack-turned-email, incident email; not the webhook


async def test_public_never_confirms_and_hides_others(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await client.post(
        base(tenant),
        headers=tenant.auth,
        json={"subscriber": {"email": "someone@example.com"}},
    )
    mine = await client.post(
        url(tenant),
        json={"subscriber": {"email": "me@example.com", "skip_confirmation_notification": True}},
    )
    body = mine.json()
    assert body["subscriber"]["state"] == "unconfirmed"
    assert body["subscriber"]["skip_confirmation_notification"] is False
    assert "someone@example.com" not in mine.text
    # Subscribing again while unconfirmed resends the confirmation, with no second subscriber.
    again = await client.post(url(tenant), json={"subscriber": {"email": "ME@example.com"}})
    assert again.json()["subscriber"]["id"] == body["subscriber"]["id"]
    sent = [s for _, _, s in await events(db, "subscriber.confirmation")]
    assert sent.count(body["subscriber"]["id"]) == 2


async def test_browser_form_is_redirected(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        url(tenant), headers=BROWSER, content="subscriber%5Bemail%5D=web%40example.com"
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/p/{tenant.page_id}/?subscribed=1"
    bad = await client.post(url(tenant), headers=BROWSER, content="subscriber[email]=nope")
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("text/html")
    assert "email" in bad.text
    counted = await client.get(f"{base(tenant)}/count?state=all", headers=tenant.auth)
    assert counted.json()["email"] == 1


async def test_public_rules(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: Callable[..., Any], db: Database
) -> None:
    bad: list[Any] = [
        {"subscriber": {}},
        {"subscriber": {"email": "x"}},
        {"subscriber": {"endpoint": "http://127.0.0.1:8000/admin", "email": "a@example.com"}},
        {"subscriber": {"email": "a@example.com", "component_ids": ["nosuchcompo1"]}},
        {"email": "a@example.com"},
    ]
    for body in bad:
        assert_error(await client.post(url(tenant), json=body), 422)
    await set_page(client, tenant, allow_email_subscribers=False)
    response = await client.post(url(tenant), json={"subscriber": {"email": "a@example.com"}})
    assert "allow_email_subscribers" in assert_error(response, 422)["message"]
    unknown = await client.post(
        "/p/nosuchpage12/api/v2/subscribers.json", json={"subscriber": {"email": "a@example.com"}}
    )
    assert_error(unknown, 404)
    private: Tenant = await make_tenant()
    await set_page(client, private, viewers_must_be_team_members=True)
    hidden = await client.post(url(private), json={"subscriber": {"email": "a@example.com"}})
    assert_error(hidden, 404)
    assert await events(db) == []


async def test_rate_limit_per_address(
    client: httpx.AsyncClient, tenant: Tenant, make_client: Callable[..., Any]
) -> None:
    for n in range(10):
        response = await client.post(
            url(tenant), json={"subscriber": {"email": f"n{n}@example.com"}}
        )
        assert response.status_code == 201, response.text
    limited = await client.post(url(tenant), json={"subscriber": {"email": "n11@example.com"}})
    assert_error(limited, 429)
    assert int(limited.headers["retry-after"]) > 0

    unlimited: httpx.AsyncClient = await make_client(public_subscribe_per_ip_per_hour=0)
    response = await unlimited.post(url(tenant), json={"subscriber": {"email": "n12@example.com"}})
    assert response.status_code == 201, response.text


async def test_unsubscribe_page_and_one_click(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    made = []
    for name in ("one", "two"):
        response = await client.post(
            base(tenant),
            headers=tenant.auth,
            json={"subscriber": {"email": f"{name}@example.com"}},
        )
        token = (await row(db, response.json()["id"])).confirm_token
        await client.get(f"/subscriptions/confirm/{token}")
        made.append(await row(db, response.json()["id"]))
    before = await events(db)

    page = await client.get(f"/subscriptions/unsubscribe/{made[0].unsubscribe_token}")
    assert page.status_code == 200
    assert "<form method=post>" in page.text
    assert (await row(db, made[0].id)).state == "active"  # showing the page changes nothing

    # RFC 8058 one-click: a POST with no cookie or login; no goodbye message after it.
    one_click = await client.post(
        f"/subscriptions/unsubscribe/{made[0].unsubscribe_token}",
        headers=FORM,
        content="List-Unsubscribe=One-Click",
    )
    assert one_click.status_code == 200
    assert (await row(db, made[0].id)).state == "unsubscribed"
    # The page's button: unsubscribes and says goodbye.
    button = await client.post(
        f"/p/{tenant.page_id}/subscriptions/unsubscribe/{made[1].unsubscribe_token}",
        headers=FORM,
        content="confirm=1",
    )
    assert button.status_code == 200 and "Unsubscribed" in button.text
    assert (await events(db))[len(before) :] == [
        ("subscriber.unsubscribed", tenant.page_id, made[1].id)
    ]
    repeat = await client.post(
        f"/subscriptions/unsubscribe/{made[0].unsubscribe_token}",
        headers=FORM,
        content="List-Unsubscribe=One-Click",
    )
    assert repeat.status_code == 200
    shown = await client.get(f"/subscriptions/unsubscribe/{made[0].unsubscribe_token}")
    assert "no longer receive" in shown.text
    assert_error(await client.post("/subscriptions/unsubscribe/unknown-token"), 404)
    # A confirm token is not an unsubscribe token.
    assert_error(await client.post(f"/subscriptions/unsubscribe/{made[1].confirm_token}"), 404)
    assert len(await events(db)) == len(before) + 1
