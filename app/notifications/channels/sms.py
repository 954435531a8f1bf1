"""SMS through Twilio's Messages API (or anything speaking its shape at STATUSPAGE_TWILIO_BASE_URL)."""

from __future__ import annotations

import base64

import orjson

from app.notifications.channels.base import Item, Outbound, Outcome
from app.notifications.payloads import sms_text

# Twilio error codes that mean the number itself cannot receive: invalid, not mobile, opted out.
DEAD_NUMBER_CODES = frozenset({21211, 21214, 21610, 21612, 21614})


async def send(outbound: Outbound, item: Item) -> Outcome:
    settings = outbound.settings
    delivery_id = item.claimed.delivery_id
    phone = item.claimed.recipient.phone
    sid, token, sender = (
        settings.twilio_account_sid,
        settings.twilio_auth_token,
        settings.twilio_from_number,
    )
    if not (sid and token and sender):
        return Outcome(delivery_id, False, error="SMS provider not configured", permanent=True)
    if not phone:
        return Outcome(delivery_id, False, error="no phone number", permanent=True)
    url = f"{settings.twilio_base_url.rstrip('/')}/2010-04-01/Accounts/{sid}/Messages.json"
    form = {"To": phone, "From": sender, "Body": sms_text(item.event, item.claimed.recipient)}
    credentials = base64.b64encode(f"{sid}:{token}".encode()).decode()
    headers = {"accept": "application/json", "authorization": f"Basic {credentials}"}
    outcome = await outbound.post(delivery_id, url, form, headers)
    if outcome.status_code == 400:
        code, message = _twilio_error(outcome.answer)
        outcome.error = f"HTTP 400: Twilio error {code}: {message}"[:500]
        # A malformed request is ours to fix (retrying will not help); a dead number is theirs.
        outcome.permanent = True
        outcome.dead_address = code in DEAD_NUMBER_CODES
    return outcome


def _twilio_error(answer: bytes) -> tuple[int | None, str]:
    try:
        body = orjson.loads(answer)
        return int(body.get("code")), str(body.get("message", ""))
    except (orjson.JSONDecodeError, TypeError, ValueError, AttributeError):
        return None, answer[:200].decode(errors="replace")
