"""Audience-specific pages: page access users and groups, and the components and metrics granted
to each. A viewer sees what is granted to them directly or to any group they belong to."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TimestampMixin


class PageAccessUser(IdMixin, TimestampMixin, Base):
    """A viewer of an audience-specific page. Emails are stored lower-cased, unique per page."""

    __tablename__ = "page_access_users"
    __table_args__ = (UniqueConstraint("page_id", "email"),)

    page_id: Mapped[str] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    external_login: Mapped[str | None] = mapped_column(String(255))
    subscribe_to_components: Mapped[bool] = mapped_column(Boolean, default=False)


class PageAccessGroup(IdMixin, TimestampMixin, Base):
    __tablename__ = "page_access_groups"
    __table_args__ = (Index("ix_page_access_groups_page_id_created_at", "page_id", "created_at"),)

    page_id: Mapped[str] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    external_identifier: Mapped[str | None] = mapped_column(String(255))


class PageAccessGroupMember(Base):
    __tablename__ = "page_access_group_members"

    page_access_group_id: Mapped[str] = mapped_column(
        ForeignKey("page_access_groups.id", ondelete="CASCADE"), primary_key=True
    )
    page_access_user_id: Mapped[str] = mapped_column(
        ForeignKey("page_access_users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class PageAccessUserComponent(Base):
    __tablename__ = "page_access_user_components"

    page_access_user_id: Mapped[str] = mapped_column(
        ForeignKey("page_access_users.id", ondelete="CASCADE"), primary_key=True
    )
    component_id: Mapped[str] = mapped_column(
        ForeignKey("components.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class PageAccessUserMetric(Base):
    __tablename__ = "page_access_user_metrics"

    page_access_user_id: Mapped[str] = mapped_column(
        ForeignKey("page_access_users.id", ondelete="CASCADE"), primary_key=True
    )
    metric_id: Mapped[str] = mapped_column(
        ForeignKey("metrics.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class PageAccessGroupComponent(Base):
    __tablename__ = "page_access_group_components"

    page_access_group_id: Mapped[str] = mapped_column(
        ForeignKey("page_access_groups.id", ondelete="CASCADE"), primary_key=True
    )
    component_id: Mapped[str] = mapped_column(
        ForeignKey("components.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class PageAccessGroupMetric(Base):
    __tablename__ = "page_access_group_metrics"

    page_access_group_id: Mapped[str] = mapped_column(
        ForeignKey("page_access_groups.id", ondelete="CASCADE"), primary_key=True
    )
    metric_id: Mapped[str] = mapped_column(
        ForeignKey("metrics.id", ondelete="CASCADE"), primary_key=True, index=True
    )
