from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TimestampMixin


class Page(IdMixin, TimestampMixin, Base):
    __tablename__ = "pages"

    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    page_description: Mapped[str | None] = mapped_column(Text)
    headline: Mapped[str | None] = mapped_column(String(255))
    branding: Mapped[str] = mapped_column(String(16), default="basic")
    subdomain: Mapped[str] = mapped_column(String(63), unique=True)
    domain: Mapped[str | None] = mapped_column(String(255), unique=True)
    url: Mapped[str | None] = mapped_column(String(2048))
    support_url: Mapped[str | None] = mapped_column(String(2048))
    hidden_from_search: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_page_subscribers: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_incident_subscribers: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_email_subscribers: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_sms_subscribers: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_rss_atom_feeds: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_webhook_subscribers: Mapped[bool] = mapped_column(Boolean, default=True)
    notifications_from_email: Mapped[str | None] = mapped_column(String(255))
    notifications_email_footer: Mapped[str | None] = mapped_column(Text)
    activity_score: Mapped[float] = mapped_column(Float, default=0.0)
    twitter_username: Mapped[str | None] = mapped_column(String(255))
    viewers_must_be_team_members: Mapped[bool] = mapped_column(Boolean, default=False)
    ip_restrictions: Mapped[str | None] = mapped_column(Text)
    city: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[str | None] = mapped_column(String(255))
    country: Mapped[str | None] = mapped_column(String(255))
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    css_body_background_color: Mapped[str] = mapped_column(String(6), default="ffffff")
    css_font_color: Mapped[str] = mapped_column(String(6), default="333333")
    css_light_font_color: Mapped[str] = mapped_column(String(6), default="a7a7a7")
    css_greens: Mapped[str] = mapped_column(String(6), default="2fcc66")
    css_yellows: Mapped[str] = mapped_column(String(6), default="f1c40f")
    css_oranges: Mapped[str] = mapped_column(String(6), default="e67e22")
    css_blues: Mapped[str] = mapped_column(String(6), default="3498db")
    css_reds: Mapped[str] = mapped_column(String(6), default="e74c3c")
    css_border_color: Mapped[str] = mapped_column(String(6), default="ecf0f1")
    css_graph_color: Mapped[str] = mapped_column(String(6), default="3498db")
    css_link_color: Mapped[str] = mapped_column(String(6), default="3498db")
    css_no_data: Mapped[str] = mapped_column(String(6), default="b3bac5")
    # Bumped in the same transaction as every change that alters what the page shows.
    revision: Mapped[int] = mapped_column(BigInteger, default=1)
