"""The status embed's settings, one row per page once they are first changed (defaults until)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TimestampMixin

EMBED_POSITIONS = ("bottom-left", "bottom-right", "top-left", "top-right")
EMBED_DEFAULTS: dict[str, str] = {
    "position": "bottom-left",
    "incident_background_color": "e74c3c",
    "incident_text_color": "ffffff",
    "maintenance_background_color": "3498db",
    "maintenance_text_color": "ffffff",
}


class StatusEmbedConfig(TimestampMixin, Base):
    __tablename__ = "status_embed_configs"

    page_id: Mapped[str] = mapped_column(
        ForeignKey("pages.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[str] = mapped_column(String(16), default=EMBED_DEFAULTS["position"])
    incident_background_color: Mapped[str] = mapped_column(
        String(6), default=EMBED_DEFAULTS["incident_background_color"]
    )
    incident_text_color: Mapped[str] = mapped_column(
        String(6), default=EMBED_DEFAULTS["incident_text_color"]
    )
    maintenance_background_color: Mapped[str] = mapped_column(
        String(6), default=EMBED_DEFAULTS["maintenance_background_color"]
    )
    maintenance_text_color: Mapped[str] = mapped_column(
        String(6), default=EMBED_DEFAULTS["maintenance_text_color"]
    )
