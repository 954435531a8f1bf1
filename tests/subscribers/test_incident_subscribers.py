"""Incident subscribers: only unresolved incidents, email or SMS, scoped to their incident."""

from __future__ import annotations

import httpx

from app.core.db import Database
from tests.api.test_auth import assert_error
from tests.conftest import Tenant
from tests.incidents.helpers import create_incident, patch_incident
from tests.subscribers.helpers import PUBLIC_HOOK, SUBSCRIBER_FIELDS, base, events, set_page


async def test_incident_subscriber_lifecycle(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    incident = await create_incident(client, tenant)
    url = f"/v1/pages/{tenant.page_id}/incidents/{incident['id']}/subscribers"
    response = await client.post(
        url, headers=tenant.auth, json={"subscriber": {"email": "watcher@example.com"}}
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) == SUBSCRIBER_FIELDS
    assert (created["mode"], created["state"]) == ("email", "unconfirmed")
    assert await events(db) == [("subscriber.confirmation", tenant.page_id, created["id"])]
    again = await client.post(
        url, headers=tenant.auth, json={"subscriber": {"email": "WATCHER@example.com"}}
    )
    assert again.json()["id"] == created["id"]

    sms = await client.post(
        f"{url}.json",
        headers=tenant.auth,
        json={
            "subscriber": {
                "phone_number": "06 12 34 56 78",
                "phone_country": "FR",
                "skip_confirmation_notification": True,
            }
        },
    )
    assert sms.status_code == 201, sms.text
    assert sms.json()["display_phone_number"] == "+33 612345678"
    assert sms.json()["state"] == "active"

    listed = await client.get(url, headers=tenant.auth)
    assert [s["id"] for s in listed.json()] == [created["id"], sms.json()["id"]]
    paged = await client.get(f"{url}?per_page=1&page=2", headers=tenant.auth)
    assert [s["id"] for s in paged.json()] == [sms.json()["id"]]
    one = await client.get(f"{url}/{created['id']}", headers=tenant.auth)
    assert one.json() == created

    # Incident subscribers are not page subscribers, and the other way round.
    assert (await client.get(f"{base(tenant)}?state=all", headers=tenant.auth)).json() == []
    assert_error(await client.get(f"{base(tenant)}/{created['id']}", headers=tenant.auth), 404)
    page_level = await client.post(
        base(tenant), headers=tenant.auth, json={"subscriber": {"email": "watcher@example.com"}}
    )
    assert page_level.json()["id"] != created["id"]
    assert_error(await client.get(f"{url}/{page_level.json()['id']}", headers=tenant.auth), 404)

    resend = await client.post(f"{url}/{created['id']}/resend_confirmation", headers=tenant.auth)
    assert resend.status_code == 201
    resend_active = await client.post(
        f"{url}/{sms.json()['id']}/resend_confirmation", headers=tenant.auth
    )
    assert_error(resend_active, 422)

    deleted = await client.delete(f"{url}/{sms.json()['id']}", headers=tenant.auth)
    assert deleted.status_code == 200 and deleted.json()["state"] == "unsubscribed"
    listed = await client.get(url, headers=tenant.auth)
    assert [s["id"] for s in listed.json()] == [created["id"]]
    kinds = [kind for kind, _, _ in await events(db)]
    assert kinds == ["subscriber.confirmation"] * 3  # create, page-level create, resend


async def test_incident_subscriber_rules(client: httpx.AsyncClient, tenant: Tenant) -> None:
    incident = await create_incident(client, tenant)
    url = f"/v1/pages/{tenant.page_id}/incidents/{incident['id']}/subscribers"
    bad = [
        {"endpoint": PUBLIC_HOOK, "email": "a@example.com"},  # not a field here: an email one
        {},
        {"email": "nope"},
        {"phone_number": "1"},
    ]
    made = []
    for fields in bad:
        response = await client.post(url, headers=tenant.auth, json={"subscriber": fields})
        if response.status_code == 201:
            made.append(response.json())
            continue
        assert_error(response, 422)
    # An unknown field is ignored: the first body made a plain email subscriber.
    assert [s["mode"] for s in made] == ["email"]

    await set_page(client, tenant, allow_incident_subscribers=False)
    response = await client.post(
        url, headers=tenant.auth, json={"subscriber": {"email": "b@example.com"}}
    )
    assert "allow_incident_subscribers" in assert_error(response, 422)["message"]
    await set_page(client, tenant, allow_incident_subscribers=True, allow_sms_subscribers=False)
    response = await client.post(
        url, headers=tenant.auth, json={"subscriber": {"phone_number": "2025550105"}}
    )
    assert "allow_sms_subscribers" in assert_error(response, 422)["message"]

    resolved = await patch_incident(client, tenant, incident["id"], status="resolved")
    assert resolved.status_code == 200
    response = await client.post(
        url, headers=tenant.auth, json={"subscriber": {"email": "late@example.com"}}
    )
    assert "resolved" in assert_error(response, 422)["message"]
    # A resolved incident's subscribers can still be read.
    assert (await client.get(url, headers=tenant.auth)).status_code == 200

    missing = f"/v1/pages/{tenant.page_id}/incidents/nosuchincid1/subscribers"
    assert_error(await client.get(missing, headers=tenant.auth), 404)
    assert_error(
        await client.post(missing, headers=tenant.auth, json={"subscriber": {"email": "a@b.co"}}),
        404,
    )
