"""Organization users (team members) and their roles on each page they may see."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TimestampMixin

PAGE_ROLES = ("page_configuration", "incident_manager", "maintenance_manager")


class User(IdMixin, TimestampMixin, Base):
    """A team member. Emails are stored lower-cased, unique within the organization."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("organization_id", "email"),)

    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))


class UserPageRole(Base):
    """A row means the user may see the page; the roles say what they may change on it."""

    __tablename__ = "user_page_roles"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    page_id: Mapped[str] = mapped_column(
        ForeignKey("pages.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    page_configuration: Mapped[bool] = mapped_column(Boolean, default=False)
    incident_manager: Mapped[bool] = mapped_column(Boolean, default=False)
    maintenance_manager: Mapped[bool] = mapped_column(Boolean, default=False)
