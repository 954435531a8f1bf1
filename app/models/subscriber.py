"""Subscribers (page-level or incident-level) and what was sent to them: deliveries and attempts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.core.timefmt import utcnow
from app.models.base import Base, IdMixin, TimestampMixin

SUBSCRIBER_MODES = ("email", "sms", "webhook", "slack", "teams", "integration_partner")
SUBSCRIBER_STATES = ("unconfirmed", "active", "quarantined", "unsubscribed")
DELIVERY_STATES = ("pending", "sending", "delivered", "failed", "dropped")


class Subscriber(IdMixin, TimestampMixin, Base):
    """One way of reaching someone. `component_ids` NULL means the whole page; an incident-level
    subscriber has `incident_id` set. The two tokens are unguessable and single-purpose."""

    __tablename__ = "subscribers"
    __table_args__ = (
        Index("ix_subscribers_page_id_state_mode", "page_id", "state", "mode"),
        Index(
            "ix_subscribers_incident_id",
            "incident_id",
            postgresql_where=text("incident_id IS NOT NULL"),
        ),
        Index(
            "ix_subscribers_purge_at", "purge_at", postgresql_where=text("state = 'quarantined'")
        ),
    )

    page_id: Mapped[str] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"))
    incident_id: Mapped[str | None] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    mode: Mapped[str] = mapped_column(String(24))
    state: Mapped[str] = mapped_column(String(16), default="unconfirmed")
    email: Mapped[str | None] = mapped_column(String(320))
    endpoint: Mapped[str | None] = mapped_column(String(2048))
    phone_number: Mapped[str | None] = mapped_column(String(32))
    phone_country: Mapped[str | None] = mapped_column(String(2))
    display_phone_number: Mapped[str | None] = mapped_column(String(40))
    workspace_name: Mapped[str | None] = mapped_column(String(255))
    obfuscated_channel_name: Mapped[str | None] = mapped_column(String(255))
    component_ids: Mapped[list[str] | None] = mapped_column(ARRAY(String(12)))
    skip_confirmation_notification: Mapped[bool] = mapped_column(Boolean, default=False)
    page_access_user_id: Mapped[str | None] = mapped_column(String(12))
    confirm_token: Mapped[str] = mapped_column(String(64), unique=True)
    unsubscribe_token: Mapped[str] = mapped_column(String(64), unique=True)
    # Webhook signing secret (Standard Webhooks "whsec_..."), shown once at creation.
    secret: Mapped[str | None] = mapped_column(String(64))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    quarantined_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    purge_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Failures in the current window (quarantine after 10 within about an hour).
    failure_count: Mapped[int] = mapped_column(Integer, default=0)
    failure_window_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Delivery(Base):
    """One event for one subscriber. Unique per (event, subscriber): fan-out may run twice."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "subscriber_id", name="uq_deliveries_event_id_subscriber_id"),
        Index("ix_deliveries_subscriber_id_id", "subscriber_id", "id"),
        Index(
            "ix_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("state IN ('pending', 'sending')"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id", ondelete="CASCADE"))
    subscriber_id: Mapped[str] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    page_id: Mapped[str] = mapped_column(String(12))
    channel: Mapped[str] = mapped_column(String(24))
    event_kind: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
    # While `sending`, the claim expires at this time (a killed worker's batch is retried).
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )


class DeliveryAttempt(Base):
    """Every attempt, readable through the deliveries extension."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[float | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)
