"""Every mode end to end through a real `statuspage worker`: an incident created over the API
reaches a webhook (signed), Slack, Teams, an email inbox and a Twilio-shaped SMS API."""

from __future__ import annotations

import base64
import json
import time

import httpx

from app.core.config import Settings
from app.core.db import Database
from app.notifications.signing import verify
from tests.conftest import Servers, Tenant
from tests.incidents.helpers import create_incident
from tests.notifications.conftest import (
    BASE_URL,
    TWILIO_FROM,
    TWILIO_SID,
    TWILIO_TOKEN,
    Receiver,
    Smtp,
    add_subscriber,
    deliveries_of,
    form_of,
    run_worker,
)


async def test_every_mode_end_to_end(
    servers: Servers,
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    receiver: Receiver,
    twilio: Receiver,
    smtp: Smtp,
    delivery_settings: Settings,
) -> None:
    page = tenant.page_id
    hook = await add_subscriber(
        db, page, "webhook", endpoint=receiver.url("/hook"), email="ops@example.com"
    )
    await add_subscriber(db, page, "slack", endpoint=receiver.url("/slack"))
    await add_subscriber(db, page, "teams", endpoint=receiver.url("/teams"))
    reader = await add_subscriber(db, page, "email", email="reader@example.com")
    await add_subscriber(
        db,
        page,
        "sms",
        phone_number="2025550105",
        phone_country="US",
        display_phone_number="+1 (202) 555-0105",
    )
    incident = await create_incident(
        client,
        tenant,
        name="Database <down>",
        body="We are <b>looking</b> into it",
        impact_override="minor",
    )

    await run_worker(servers, delivery_settings)

    # Webhook: Statuspage's shape, signed as Standard Webhooks, verifiable by a receiver.
    [hit] = receiver.at("/hook")
    assert hit.method == "POST"
    assert hit.headers["content-type"] == "application/json"
    assert hit.headers["x-statuspage-event"] == "incident.update"
    assert verify(hook.secret or "", hit.headers, hit.body, now=int(time.time()))
    assert not verify(hook.secret or "", hit.headers, hit.body + b" ", now=int(time.time()))
    stale = int(hit.headers["webhook-timestamp"]) + 3600
    assert not verify(hook.secret or "", hit.headers, hit.body, now=stale)  # a replay, later
    payload = json.loads(hit.body)
    assert list(payload) == ["meta", "page", "incident"]
    assert payload["meta"]["unsubscribe"] == (
        f"{BASE_URL}/subscriptions/unsubscribe/{hook.unsubscribe_token}"
    )
    assert payload["meta"]["documentation"].startswith(BASE_URL)
    assert payload["page"] == {
        "id": page,
        "status_indicator": "minor",
        "status_description": "Minor Service Outage",
    }
    assert payload["incident"]["id"] == incident["id"]
    assert payload["incident"]["name"] == "Database <down>"
    assert payload["incident"]["incident_updates"][0]["body"] == "We are <b>looking</b> into it"
    assert "metadata" not in payload["incident"]
    [delivery] = await deliveries_of(db, hook.id)
    assert hit.headers["webhook-id"] == f"msg_{delivery.id}"
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)

    # Slack and Teams: formatted messages, user text escaped for each.
    slack = json.loads(receiver.at("/slack")[0].body)
    assert "Database <down>" in slack["text"]
    assert "&lt;b&gt;looking&lt;/b&gt;" in json.dumps(slack["blocks"])
    teams = json.loads(receiver.at("/teams")[0].body)
    assert teams["@type"] == "MessageCard"
    assert "Database &lt;down&gt;" in teams["title"]

    # Email: plain text and HTML, one-click unsubscribe, user text escaped in the HTML.
    [message] = smtp.to("reader@example.com")
    assert message["Subject"] == "[Status] New incident: Database <down>"
    unsubscribe = f"{BASE_URL}/subscriptions/unsubscribe/{reader.unsubscribe_token}"
    assert message["List-Unsubscribe"] == f"<{unsubscribe}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "We are <b>looking</b> into it" in text and unsubscribe in text
    assert "We are &lt;b&gt;looking&lt;/b&gt; into it" in html
    assert "Database &lt;down&gt;" in html and "<b>looking" not in html

    # SMS: Twilio's Messages API, form-encoded, basic auth, E.164 number.
    [sms] = twilio.requests
    assert sms.path == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    expected_auth = base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
    assert sms.headers["authorization"] == f"Basic {expected_auth}"
    form = form_of(sms)
    assert (form["To"], form["From"]) == ("+12025550105", TWILIO_FROM)
    assert "Database <down>" in form["Body"] and len(form["Body"]) <= 320
