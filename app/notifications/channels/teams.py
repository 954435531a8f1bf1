"""Microsoft Teams incoming webhooks (and Workflows webhooks): a MessageCard."""

from __future__ import annotations

import orjson

from app.notifications.channels.base import Item, Outbound, Outcome
from app.notifications.payloads import teams_message


async def send(outbound: Outbound, item: Item) -> Outcome:
    recipient = item.claimed.recipient
    if not recipient.endpoint:
        return Outcome(item.claimed.delivery_id, False, error="no endpoint", permanent=True)
    body = orjson.dumps(teams_message(item.event, recipient))
    headers = {"content-type": "application/json"}
    return await outbound.post(item.claimed.delivery_id, recipient.endpoint, body, headers)
