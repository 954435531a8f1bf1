"""Webhooks: Statuspage's JSON payload, signed the Standard Webhooks way, with an event-type header."""

from __future__ import annotations

import time

from app.notifications.channels.base import Item, Outbound, Outcome
from app.notifications.payloads import webhook_body
from app.notifications.signing import secret_key, sign

EVENT_HEADER = "x-statuspage-event"


async def send(outbound: Outbound, item: Item) -> Outcome:
    claimed, event = item.claimed, item.event
    recipient = claimed.recipient
    if not recipient.endpoint:
        return Outcome(claimed.delivery_id, False, error="no endpoint", permanent=True)
    body = webhook_body(event, recipient)
    # The delivery id is the message id: stable across retries, so receivers can de-duplicate.
    message_id = f"msg_{claimed.delivery_id}"
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "user-agent": "statuspage-webhooks/1",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        EVENT_HEADER: event.kind,
    }
    if recipient.secret:
        headers["webhook-signature"] = sign(
            secret_key(recipient.secret), message_id, timestamp, body
        )
    return await outbound.post(claimed.delivery_id, recipient.endpoint, body, headers)
