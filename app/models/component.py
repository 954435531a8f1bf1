from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.ids import new_id
from app.core.timefmt import utcnow
from app.models.base import Base, IdMixin, TimestampMixin

COMPONENT_STATUSES = (
    "operational",
    "under_maintenance",
    "degraded_performance",
    "partial_outage",
    "major_outage",
)
STATUS_SOURCES = ("api", "incident", "maintenance", "automation")


class Component(IdMixin, TimestampMixin, Base):
    """A component or, with is_group, a component group (Statuspage models groups as components)."""

    __tablename__ = "components"
    __table_args__ = (
        Index("ix_components_page_id_group_id_position", "page_id", "group_id", "position"),
    )

    page_id: Mapped[str] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"))
    group_id: Mapped[str | None] = mapped_column(
        ForeignKey("components.id", ondelete="SET NULL"), index=True
    )
    is_group: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(32), default="operational")
    showcase: Mapped[bool] = mapped_column(Boolean, default=True)
    only_show_if_degraded: Mapped[bool] = mapped_column(Boolean, default=False)
    automation_email: Mapped[str | None] = mapped_column(String(255))
    start_date: Mapped[date | None] = mapped_column(Date)


class ComponentStatusChange(Base):
    """One status transition of one component: the history behind uptime. The first row of a
    component (old_status NULL) is its status when it was created."""

    __tablename__ = "component_status_changes"
    __table_args__ = (Index("ix_component_status_changes_component_id_at", "component_id", "at"),)

    id: Mapped[str] = mapped_column(String(12), primary_key=True, default=new_id)
    component_id: Mapped[str] = mapped_column(ForeignKey("components.id", ondelete="CASCADE"))
    page_id: Mapped[str] = mapped_column(String(12), index=True)
    old_status: Mapped[str | None] = mapped_column(String(32))
    new_status: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    source: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str | None] = mapped_column(String(64))
    incident_id: Mapped[str | None] = mapped_column(String(12))
