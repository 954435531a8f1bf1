"""The delivery log (extension): what was sent to a subscriber, and every attempt."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.core.timefmt import Timestamp


class DeliveryAttempt(BaseModel):
    at: Timestamp
    status_code: int | None = Field(description="HTTP status, or the SMTP reply code for email")
    latency_ms: float | None
    error: str | None


class Delivery(BaseModel):
    id: str = Field(description="Also the webhook's `webhook-id` (as `msg_<id>`)")
    event_id: str
    event_kind: str = Field(description="incident.update, component.update, ...")
    channel: str
    state: str = Field(description="pending, sending, delivered, failed or dropped")
    attempts: int
    created_at: Timestamp
    delivered_at: Timestamp | None
    next_attempt_at: Timestamp | None = Field(description="When a retry is due (pending only)")
    last_status_code: int | None
    last_error: str | None
    attempt_log: list[DeliveryAttempt] = Field(description="Every attempt, oldest first")
