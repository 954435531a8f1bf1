"""Incidents (realtime and scheduled maintenance), their updates, the components they affect, and
incident templates. The postmortem lives on the incident row (Statuspage shows it there too)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.timefmt import utcnow
from app.models.base import Base, IdMixin, TimestampMixin

REALTIME_STATUSES = ("investigating", "identified", "monitoring", "resolved")
MAINTENANCE_STATUSES = ("scheduled", "in_progress", "verifying", "completed")
IMPACTS = ("none", "maintenance", "minor", "major", "critical")


class Incident(IdMixin, TimestampMixin, Base):
    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_page_id_created_at", "page_id", "created_at"),
        # What the scheduler scans every 15 seconds: maintenances not yet completed.
        Index(
            "ix_incidents_open_maintenance",
            "scheduled_for",
            postgresql_where=text("is_maintenance AND status IN ('scheduled', 'in_progress')"),
        ),
    )

    page_id: Mapped[str] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    is_maintenance: Mapped[bool] = mapped_column(Boolean, default=False)
    # The peak impact computed from the affected components; impact_override wins when set.
    impact: Mapped[str] = mapped_column(String(16), default="none")
    impact_override: Mapped[str | None] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    monitoring_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # `metadata` is taken by SQLAlchemy's declarative base.
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, default=dict)
    backfilled: Mapped[bool] = mapped_column(Boolean, default=False)
    backfill_date: Mapped[date | None] = mapped_column(Date)
    reminder_intervals: Mapped[str | None] = mapped_column(String(100))
    # Realtime reminders already sent (an index into the reminder intervals).
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)

    scheduled_for: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    scheduled_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    scheduled_remind_prior: Mapped[bool] = mapped_column(Boolean, default=False)
    scheduled_reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    scheduled_auto_in_progress: Mapped[bool] = mapped_column(Boolean, default=False)
    scheduled_auto_completed: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_transition_to_maintenance_state: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_transition_to_operational_state: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_transition_deliver_notifications_at_start: Mapped[bool] = mapped_column(
        Boolean, default=False
    )
    auto_transition_deliver_notifications_at_end: Mapped[bool] = mapped_column(
        Boolean, default=False
    )
    # Stored so that clients read back what they sent; we never tweet.
    auto_tweet_at_beginning: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_tweet_on_completion: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_tweet_on_creation: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_tweet_one_hour_before: Mapped[bool] = mapped_column(Boolean, default=False)

    postmortem_created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    postmortem_updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    postmortem_preview_key: Mapped[str | None] = mapped_column(String(32))
    postmortem_body: Mapped[str | None] = mapped_column(Text)
    postmortem_body_last_updated_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True)
    )
    postmortem_body_draft: Mapped[str | None] = mapped_column(Text)
    postmortem_body_draft_updated_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True)
    )
    postmortem_ignored: Mapped[bool] = mapped_column(Boolean, default=False)
    postmortem_notified_subscribers: Mapped[bool] = mapped_column(Boolean, default=False)
    postmortem_notified_twitter: Mapped[bool] = mapped_column(Boolean, default=False)
    postmortem_custom_tweet: Mapped[str | None] = mapped_column(String(280))
    postmortem_published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IncidentComponent(Base):
    """A component the incident affects (attached by `component_ids` or changed by `components`)."""

    __tablename__ = "incident_components"

    incident_id: Mapped[str] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    )
    component_id: Mapped[str] = mapped_column(
        ForeignKey("components.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class IncidentUpdate(IdMixin, TimestampMixin, Base):
    __tablename__ = "incident_updates"
    __table_args__ = (
        Index("ix_incident_updates_incident_id_created_at", "incident_id", "created_at"),
    )

    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text, default="")
    display_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    affected_components: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    deliver_notifications: Mapped[bool] = mapped_column(Boolean, default=True)
    custom_tweet: Mapped[str | None] = mapped_column(String(280))
    tweet_id: Mapped[str | None] = mapped_column(String(64))
    twitter_updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    wants_twitter_update: Mapped[bool] = mapped_column(Boolean, default=False)


class IncidentTemplate(IdMixin, TimestampMixin, Base):
    __tablename__ = "incident_templates"

    page_id: Mapped[str] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    group_id: Mapped[str | None] = mapped_column(String(12))
    update_status: Mapped[str | None] = mapped_column(String(16))
    should_tweet: Mapped[bool] = mapped_column(Boolean, default=False)
    should_send_notifications: Mapped[bool] = mapped_column(Boolean, default=True)
    component_ids: Mapped[list[str]] = mapped_column(JSONB, default=list)
