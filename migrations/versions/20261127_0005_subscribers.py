"""subscribers, deliveries and delivery attempts

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "subscribers",
        sa.Column("page_id", sa.String(length=12), nullable=False),
        sa.Column("incident_id", sa.String(length=12), nullable=True),
        sa.Column("mode", sa.String(length=24), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("endpoint", sa.String(length=2048), nullable=True),
        sa.Column("phone_number", sa.String(length=32), nullable=True),
        sa.Column("phone_country", sa.String(length=2), nullable=True),
        sa.Column("display_phone_number", sa.String(length=40), nullable=True),
        sa.Column("workspace_name", sa.String(length=255), nullable=True),
        sa.Column("obfuscated_channel_name", sa.String(length=255), nullable=True),
        sa.Column("component_ids", postgresql.ARRAY(sa.String(length=12)), nullable=True),
        sa.Column("skip_confirmation_notification", sa.Boolean(), nullable=False),
        sa.Column("page_access_user_id", sa.String(length=12), nullable=True),
        sa.Column("confirm_token", sa.String(length=64), nullable=False),
        sa.Column("unsubscribe_token", sa.String(length=64), nullable=False),
        sa.Column("secret", sa.String(length=64), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unsubscribed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("quarantined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("purge_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failure_count", sa.Integer(), nullable=False),
        sa.Column("failure_window_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=12), nullable=False),
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
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_subscribers_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["page_id"], ["pages.id"], name=op.f("fk_subscribers_page_id_pages"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscribers")),
        sa.UniqueConstraint("confirm_token", name=op.f("uq_subscribers_confirm_token")),
        sa.UniqueConstraint("unsubscribe_token", name=op.f("uq_subscribers_unsubscribe_token")),
    )
    op.create_index(
        "ix_subscribers_incident_id",
        "subscribers",
        ["incident_id"],
        unique=False,
        postgresql_where=sa.text("incident_id IS NOT NULL"),
    )
    op.create_index(
        "ix_subscribers_page_id_state_mode",
        "subscribers",
        ["page_id", "state", "mode"],
        unique=False,
    )
    op.create_index(
        "ix_subscribers_purge_at",
        "subscribers",
        ["purge_at"],
        unique=False,
        postgresql_where=sa.text("state = 'quarantined'"),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("subscriber_id", sa.String(length=12), nullable=False),
        sa.Column("page_id", sa.String(length=12), nullable=False),
        sa.Column("channel", sa.String(length=24), nullable=False),
        sa.Column("event_kind", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["outbox_events.id"],
            name=op.f("fk_deliveries_event_id_outbox_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name=op.f("fk_deliveries_subscriber_id_subscribers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint(
            "event_id", "subscriber_id", name="uq_deliveries_event_id_subscriber_id"
        ),
    )
    op.create_index(
        "ix_deliveries_due",
        "deliveries",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("state IN ('pending', 'sending')"),
    )
    op.create_index(
        "ix_deliveries_subscriber_id_id", "deliveries", ["subscriber_id", "id"], unique=False
    )
    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("delivery_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Double(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_delivery_attempts_delivery_id_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_attempts")),
    )
    op.create_index(
        op.f("ix_delivery_attempts_delivery_id"), "delivery_attempts", ["delivery_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_delivery_attempts_delivery_id"), table_name="delivery_attempts")
    op.drop_table("delivery_attempts")
    op.drop_index("ix_deliveries_subscriber_id_id", table_name="deliveries")
    op.drop_index(
        "ix_deliveries_due",
        table_name="deliveries",
        postgresql_where=sa.text("state IN ('pending', 'sending')"),
    )
    op.drop_table("deliveries")
    op.drop_index(
        "ix_subscribers_purge_at",
        table_name="subscribers",
        postgresql_where=sa.text("state = 'quarantined'"),
    )
    op.drop_index("ix_subscribers_page_id_state_mode", table_name="subscribers")
    op.drop_index(
        "ix_subscribers_incident_id",
        table_name="subscribers",
        postgresql_where=sa.text("incident_id IS NOT NULL"),
    )
    op.drop_table("subscribers")
