"""incidents, incident updates, affected components and incident templates

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 10:00:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column[Any]]:
    return [
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    ]


def _flag(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.Boolean(), nullable=False)


def _moment(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("page_id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _flag("is_maintenance"),
        sa.Column("impact", sa.String(length=16), nullable=False),
        sa.Column("impact_override", sa.String(length=16), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        _moment("monitoring_at"),
        _moment("resolved_at"),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        _flag("backfilled"),
        sa.Column("backfill_date", sa.Date(), nullable=True),
        sa.Column("reminder_intervals", sa.String(length=100), nullable=True),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        _moment("scheduled_for"),
        _moment("scheduled_until"),
        _flag("scheduled_remind_prior"),
        _moment("scheduled_reminded_at"),
        _flag("scheduled_auto_in_progress"),
        _flag("scheduled_auto_completed"),
        _flag("auto_transition_to_maintenance_state"),
        _flag("auto_transition_to_operational_state"),
        _flag("auto_transition_deliver_notifications_at_start"),
        _flag("auto_transition_deliver_notifications_at_end"),
        _flag("auto_tweet_at_beginning"),
        _flag("auto_tweet_on_completion"),
        _flag("auto_tweet_on_creation"),
        _flag("auto_tweet_one_hour_before"),
        _moment("postmortem_created_at"),
        _moment("postmortem_updated_at"),
        sa.Column("postmortem_preview_key", sa.String(length=32), nullable=True),
        sa.Column("postmortem_body", sa.Text(), nullable=True),
        _moment("postmortem_body_last_updated_at"),
        sa.Column("postmortem_body_draft", sa.Text(), nullable=True),
        _moment("postmortem_body_draft_updated_at"),
        _flag("postmortem_ignored"),
        _flag("postmortem_notified_subscribers"),
        _flag("postmortem_notified_twitter"),
        sa.Column("postmortem_custom_tweet", sa.String(length=280), nullable=True),
        _moment("postmortem_published_at"),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["page_id"], ["pages.id"], name=op.f("fk_incidents_page_id_pages"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    op.create_index(
        "ix_incidents_page_id_created_at", "incidents", ["page_id", "created_at"], unique=False
    )
    op.create_index(
        "ix_incidents_open_maintenance",
        "incidents",
        ["scheduled_for"],
        unique=False,
        postgresql_where=sa.text("is_maintenance AND status IN ('scheduled', 'in_progress')"),
    )
    op.create_table(
        "incident_components",
        sa.Column("incident_id", sa.String(length=12), nullable=False),
        sa.Column("component_id", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["component_id"],
            ["components.id"],
            name=op.f("fk_incident_components_component_id_components"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_components_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("incident_id", "component_id", name=op.f("pk_incident_components")),
    )
    op.create_index(
        op.f("ix_incident_components_component_id"),
        "incident_components",
        ["component_id"],
        unique=False,
    )
    op.create_table(
        "incident_updates",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("incident_id", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("display_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("affected_components", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        _flag("deliver_notifications"),
        sa.Column("custom_tweet", sa.String(length=280), nullable=True),
        sa.Column("tweet_id", sa.String(length=64), nullable=True),
        _moment("twitter_updated_at"),
        _flag("wants_twitter_update"),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_updates_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_updates")),
    )
    op.create_index(
        "ix_incident_updates_incident_id_created_at",
        "incident_updates",
        ["incident_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "incident_templates",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("page_id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("group_id", sa.String(length=12), nullable=True),
        sa.Column("update_status", sa.String(length=16), nullable=True),
        _flag("should_tweet"),
        _flag("should_send_notifications"),
        sa.Column("component_ids", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["page_id"],
            ["pages.id"],
            name=op.f("fk_incident_templates_page_id_pages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_templates")),
    )
    op.create_index(
        op.f("ix_incident_templates_page_id"), "incident_templates", ["page_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_incident_templates_page_id"), table_name="incident_templates")
    op.drop_table("incident_templates")
    op.drop_index("ix_incident_updates_incident_id_created_at", table_name="incident_updates")
    op.drop_table("incident_updates")
    op.drop_index(op.f("ix_incident_components_component_id"), table_name="incident_components")
    op.drop_table("incident_components")
    op.drop_index("ix_incidents_open_maintenance", table_name="incidents")
    op.drop_index("ix_incidents_page_id_created_at", table_name="incidents")
    op.drop_table("incidents")
