"""Page subscribers through the Manage API: modes, fields, states, events, scope and bad input."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

import httpx

from app.core.db import Database
from app.models import PageAccessUser
from tests.api.test_auth import assert_error
from tests.components.test_components import create
from tests.components.test_groups import make_group
from tests.conftest import Tenant
from tests.subscribers.helpers import (
    PUBLIC_HOOK,
    SUBSCRIBER_FIELDS,
    base,
    events,
    row,
    set_page,
    subscribe,
)

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def test_email_subscriber_double_opt_in(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    created = await subscribe(client, tenant, email="ada@example.com")
    assert set(created) == SUBSCRIBER_FIELDS  # no secret for an email subscriber
    assert created["mode"] == "email"
    assert created["state"] == "unconfirmed"
    assert created["email"] == "ada@example.com"
    assert created["skip_confirmation_notification"] is False
    for name in (
        "endpoint", "phone_number", "phone_country", "display_phone_number",
        "obfuscated_channel_name", "workspace_name", "quarantined_at", "purge_at",
        "components", "page_access_user_id",
    ):  # fmt: skip
        assert created[name] is None, name
    assert TIMESTAMP.match(created["created_at"])
    assert await events(db) == [("subscriber.confirmation", tenant.page_id, created["id"])]
    stored = await row(db, created["id"])
    assert stored.confirm_token != stored.unsubscribe_token
    assert len(stored.confirm_token) >= 43 and stored.secret is None

    fetched = await client.get(f"{base(tenant)}/{created['id']}.json", headers=tenant.auth)
    assert fetched.status_code == 200
    assert fetched.json() == created


async def test_skip_confirmation_is_active_without_message(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    created = await subscribe(
        client, tenant, email="bob@example.com", skip_confirmation_notification=True
    )
    assert created["state"] == "active"
    assert created["skip_confirmation_notification"] is True
    assert await events(db) == []
    # ...and it hears nothing of its unsubscription either.
    response = await client.delete(f"{base(tenant)}/{created['id']}", headers=tenant.auth)
    assert response.status_code == 200
    assert await events(db) == []


async def test_webhook_subscriber_has_a_secret_once(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    created = await subscribe(client, tenant, endpoint=PUBLIC_HOOK, email="ops@example.com")
    assert created["mode"] == "webhook"
    assert created["state"] == "active"  # no double opt-in for webhooks
    assert created["endpoint"] == PUBLIC_HOOK and created["email"] == "ops@example.com"
    secret = created.pop("secret")
    assert set(created) == SUBSCRIBER_FIELDS
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 24
    assert (await row(db, created["id"])).secret == secret
    assert await events(db) == []
    fetched = await client.get(f"{base(tenant)}/{created['id']}", headers=tenant.auth)
    assert "secret" not in fetched.json()


async def test_sms_subscriber(client: httpx.AsyncClient, tenant: Tenant, db: Database) -> None:
    created = await subscribe(client, tenant, phone_number="202-555-0105", phone_country="us")
    assert created["mode"] == "sms"
    assert created["phone_number"] == "2025550105"
    assert created["phone_country"] == "US"
    assert created["display_phone_number"] == "+1 (202) 555-0105"
    assert created["state"] == "unconfirmed"
    assert await events(db) == [("subscriber.confirmation", tenant.page_id, created["id"])]

    uk = await subscribe(client, tenant, phone_number="+44 20 7946 0958", phone_country="GB")
    assert (uk["phone_number"], uk["display_phone_number"]) == ("2079460958", "+44 2079460958")
    default_country = await subscribe(client, tenant, phone_number="(415) 555 2671")
    assert default_country["phone_country"] == "US"


async def test_slack_and_teams_extension(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    slack = await subscribe(
        client,
        tenant,
        mode="slack",
        endpoint="https://1.1.1.1/services/T0/B0/x",
        workspace_name="Acme",
        channel_name="#incidents-main",
    )
    assert slack["mode"] == "slack" and slack["state"] == "active"
    assert slack["workspace_name"] == "Acme"
    assert slack["obfuscated_channel_name"] == "#************in"
    assert "secret" not in slack
    teams = await subscribe(client, tenant, mode="teams", endpoint="https://1.0.0.1/webhookb2/x")
    assert teams["mode"] == "teams" and teams["email"] is None
    assert await events(db) == []


async def test_mode_inference_errors(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    bad: list[dict[str, Any]] = [
        {},
        {"endpoint": PUBLIC_HOOK},  # a webhook needs its contact email
        {"email": "a@example.com", "phone_number": "2025550105"},
        {"endpoint": PUBLIC_HOOK, "phone_number": "2025550105", "email": "a@example.com"},
        {"mode": "slack"},
        {"mode": "slack", "endpoint": PUBLIC_HOOK, "phone_number": "2025550105"},
        {"mode": "sms", "email": "a@example.com"},
        {"mode": "integration_partner", "email": "a@example.com"},
        {"email": "a@example.com", "workspace_name": "Acme"},
        {"email": "not-an-email"},
        {"email": "a@@example.com"},
        {"email": "a@example.com", "phone_country": "US"},
        {"phone_number": "12"},
        {"phone_number": "202555010"},  # 9 digits in the US
        {"phone_number": "2025550105", "phone_country": "USA"},
        {"phone_number": "20x5550105"},
        {"phone_number": "+33 1 23 45 67 89", "phone_country": "US"},
        {"endpoint": "ftp://1.1.1.1/x", "email": "a@example.com"},
        {"endpoint": "javascript:alert(1)", "email": "a@example.com"},
        {"endpoint": "not a url", "email": "a@example.com"},
        {"email": "a@example.com", "component_ids": []},
        {"email": "a@example.com", "page_access_user": "p09yv4zzpsk9"},  # unknown
        {"email": "a@example.com", "skip_confirmation_notification": "maybe"},
    ]
    for fields in bad:
        response = await client.post(base(tenant), headers=tenant.auth, json={"subscriber": fields})
        assert_error(response, 422)
    missing = await client.post(base(tenant), headers=tenant.auth, json={"nope": {}})
    assert_error(missing, 422)
    listed = await client.get(f"{base(tenant)}?state=all", headers=tenant.auth)
    assert listed.json() == []
    assert await events(db) == []


async def test_form_encoded_create(client: httpx.AsyncClient, tenant: Tenant) -> None:
    api = await create(client, tenant, "API")
    response = await client.post(
        base(tenant),
        headers={**tenant.auth, "Content-Type": "application/x-www-form-urlencoded"},
        content=f"subscriber[email]=form@example.com&subscriber[component_ids][]={api['id']}"
        "&subscriber[skip_confirmation_notification]=true",
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["email"] == "form@example.com"
    assert body["components"] == [api["id"]]
    assert body["state"] == "active"


async def test_allow_settings_are_enforced(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    cases: list[tuple[str, dict[str, Any]]] = [
        ("allow_email_subscribers", {"email": "a@example.com"}),
        ("allow_sms_subscribers", {"phone_number": "2025550105"}),
        ("allow_webhook_subscribers", {"endpoint": PUBLIC_HOOK, "email": "a@example.com"}),
        ("allow_page_subscribers", {"email": "a@example.com"}),
    ]
    for flag, fields in cases:
        await set_page(client, tenant, **{flag: False})
        response = await client.post(base(tenant), headers=tenant.auth, json={"subscriber": fields})
        assert flag in assert_error(response, 422)["message"]
        await set_page(client, tenant, **{flag: True})
        await subscribe(client, tenant, **fields)
    # Slack and Teams have no page setting of their own.
    await set_page(client, tenant, allow_webhook_subscribers=False)
    await subscribe(client, tenant, mode="teams", endpoint="https://1.0.0.1/hook")


async def test_component_scope_and_groups(client: httpx.AsyncClient, tenant: Tenant) -> None:
    api = await create(client, tenant, "API")
    web = await create(client, tenant, "Web")
    cdn = await create(client, tenant, "CDN")
    group = await make_group(client, tenant, "Frontend", [web["id"], cdn["id"]])
    created = await subscribe(
        client, tenant, email="a@example.com", component_ids=[api["id"], group["id"], web["id"]]
    )
    assert created["components"] == [api["id"], web["id"], cdn["id"]]

    url = f"{base(tenant)}/{created['id']}"
    patched = await client.patch(url, headers=tenant.auth, json={"component_ids": [cdn["id"]]})
    assert patched.status_code == 200, patched.text
    assert patched.json()["components"] == [cdn["id"]]
    form = await client.patch(
        url, headers=tenant.auth, data={"component_ids[]": [api["id"], web["id"]]}
    )
    assert form.json()["components"] == [api["id"], web["id"]]
    everything = await client.patch(url, headers=tenant.auth, json={})
    assert everything.status_code == 200 and everything.json()["components"] is None
    no_body = await client.patch(url, headers=tenant.auth)
    assert no_body.status_code == 200 and no_body.json()["components"] is None

    other = await create_other_page_component(client, tenant)
    for ids in ([other], ["nonexistent1"], []):
        response = await client.patch(url, headers=tenant.auth, json={"component_ids": ids})
        assert_error(response, 422)
        response = await client.post(
            base(tenant),
            headers=tenant.auth,
            json={"subscriber": {"email": "b@example.com", "component_ids": ids}},
        )
        assert_error(response, 422)
    current = await client.get(url, headers=tenant.auth)
    assert current.json()["components"] is None


async def create_other_page_component(client: httpx.AsyncClient, tenant: Tenant) -> str:
    page = await client.post("/v1/pages", headers=tenant.auth, json={"page": {"name": "Other"}})
    assert page.status_code == 201, page.text
    other = Tenant(tenant.organization_id, page.json()["id"], tenant.api_key)
    return str((await create(client, other, "Elsewhere"))["id"])


async def test_duplicates_answer_the_existing_subscriber(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    first = await subscribe(client, tenant, email="Dup@Example.com")
    again = await subscribe(client, tenant, email="dup@example.com", component_ids=None)
    assert again == first
    hook = await subscribe(client, tenant, endpoint=PUBLIC_HOOK, email="x@example.com")
    hook_again = await subscribe(client, tenant, endpoint=PUBLIC_HOOK, email="y@example.com")
    assert "secret" not in hook_again and hook_again["id"] == hook["id"]
    sms = await subscribe(client, tenant, phone_number="202 555 0105")
    assert (await subscribe(client, tenant, phone_number="+1 202-555-0105"))["id"] == sms["id"]
    # One confirmation each, not one per request.
    assert [kind for kind, _, _ in await events(db)] == ["subscriber.confirmation"] * 2

    # Once unsubscribed, the same address may subscribe anew.
    await client.delete(f"{base(tenant)}/{first['id']}", headers=tenant.auth)
    fresh = await subscribe(client, tenant, email="dup@example.com")
    assert fresh["id"] != first["id"]


async def test_unsubscribe_and_notifications(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    active = await subscribe(client, tenant, email="a@example.com")
    await confirm_directly(client, db, active["id"])
    quiet = await subscribe(client, tenant, email="b@example.com")
    await confirm_directly(client, db, quiet["id"])
    before = await events(db)

    gone = await client.delete(f"{base(tenant)}/{active['id']}.json", headers=tenant.auth)
    assert gone.status_code == 200
    assert gone.json()["state"] == "unsubscribed" and gone.json()["id"] == active["id"]
    skipped = await client.delete(
        f"{base(tenant)}/{quiet['id']}?skip_unsubscription_notification=true", headers=tenant.auth
    )
    assert skipped.status_code == 200
    assert (await events(db))[len(before) :] == [
        ("subscriber.unsubscribed", tenant.page_id, active["id"])
    ]
    # Unsubscribing again changes nothing and says nothing.
    again = await client.delete(f"{base(tenant)}/{active['id']}", headers=tenant.auth)
    assert again.status_code == 200
    assert len(await events(db)) == len(before) + 1
    patch = await client.patch(
        f"{base(tenant)}/{active['id']}", headers=tenant.auth, json={"component_ids": None}
    )
    assert_error(patch, 422)

    listed = await client.get(f"{base(tenant)}/unsubscribed", headers=tenant.auth)
    assert {s["id"] for s in listed.json()} == {active["id"], quiet["id"]}
    assert all(s["state"] == "unsubscribed" for s in listed.json())
    second = await client.get(f"{base(tenant)}/unsubscribed?per_page=1&page=2", headers=tenant.auth)
    assert len(second.json()) == 1
    assert (await client.get(base(tenant), headers=tenant.auth)).json() == []


async def confirm_directly(client: httpx.AsyncClient, db: Database, subscriber_id: str) -> None:
    token = (await row(db, subscriber_id)).confirm_token
    response = await client.get(f"/subscriptions/confirm/{token}")
    assert response.status_code == 200


async def test_resend_confirmation(client: httpx.AsyncClient, tenant: Tenant, db: Database) -> None:
    pending = await subscribe(client, tenant, email="a@example.com")
    response = await client.post(
        f"{base(tenant)}/{pending['id']}/resend_confirmation", headers=tenant.auth
    )
    assert response.status_code == 201
    assert [s for _, _, s in await events(db, "subscriber.confirmation")] == [pending["id"]] * 2
    active = await subscribe(
        client, tenant, email="b@example.com", skip_confirmation_notification=True
    )
    response = await client.post(
        f"{base(tenant)}/{active['id']}/resend_confirmation.json", headers=tenant.auth
    )
    assert_error(response, 422)
    assert len(await events(db)) == 2


async def test_another_organizations_key_sees_nothing(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: Callable[..., Any]
) -> None:
    created = await subscribe(client, tenant, email="a@example.com")
    stranger: Tenant = await make_tenant()
    own = f"/v1/pages/{tenant.page_id}/subscribers"
    attempts = [
        ("GET", own, None),
        ("POST", own, {"subscriber": {"email": "x@example.com"}}),
        ("GET", f"{own}/{created['id']}", None),
        ("PATCH", f"{own}/{created['id']}", {"component_ids": None}),
        ("DELETE", f"{own}/{created['id']}", None),
        ("POST", f"{own}/{created['id']}/resend_confirmation", None),
        ("GET", f"{own}/count", None),
        ("GET", f"{own}/histogram_by_state", None),
        ("GET", f"{own}/unsubscribed", None),
        ("POST", f"{own}/unsubscribe", {"subscribers": [created["id"]]}),
    ]
    for method, url, body in attempts:
        response = await client.request(method, url, headers=stranger.auth, json=body)
        assert_error(response, 404)
    # Its own page does not know this subscriber either.
    theirs = f"/v1/pages/{stranger.page_id}/subscribers/{created['id']}"
    assert_error(await client.get(theirs, headers=stranger.auth), 404)
    fetched = await client.get(f"{own}/{created['id']}", headers=tenant.auth)
    assert fetched.json()["state"] == "unconfirmed"

    reader: Tenant = await make_tenant(role="read")
    response = await client.post(
        f"/v1/pages/{reader.page_id}/subscribers",
        headers=reader.auth,
        json={"subscriber": {"email": "a@example.com"}},
    )
    assert_error(response, 403)


async def test_page_access_user(client: httpx.AsyncClient, tenant: Tenant, db: Database) -> None:
    async with db.sessionmaker() as session, session.begin():
        viewer = PageAccessUser(page_id=tenant.page_id, email="viewer@example.com")
        session.add(viewer)
    created = await subscribe(
        client, tenant, email="viewer@example.com", page_access_user=viewer.id
    )
    assert created["page_access_user_id"] == viewer.id
