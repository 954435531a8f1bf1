"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27 05:17:55.935022
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("name", sa.String(length=255), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
        sa.UniqueConstraint("name", name=op.f("uq_organizations_name")),
    )
    op.create_table(
        "outbox_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("page_id", sa.String(length=12), nullable=True),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_events")),
    )
    op.create_index(
        "ix_outbox_events_pending",
        "outbox_events",
        ["id"],
        postgresql_where=sa.text("dispatched_at IS NULL"),
    )
    op.create_index(op.f("ix_outbox_events_page_id"), "outbox_events", ["page_id"], unique=False)
    op.create_table(
        "api_keys",
        sa.Column("organization_id", sa.String(length=12), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("key_prefix", sa.String(length=8), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
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
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_api_keys_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_index(
        op.f("ix_api_keys_organization_id"), "api_keys", ["organization_id"], unique=False
    )
    op.create_table(
        "pages",
        sa.Column("organization_id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("page_description", sa.Text(), nullable=True),
        sa.Column("headline", sa.String(length=255), nullable=True),
        sa.Column("branding", sa.String(length=16), nullable=False),
        sa.Column("subdomain", sa.String(length=63), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=True),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("support_url", sa.String(length=2048), nullable=True),
        sa.Column("hidden_from_search", sa.Boolean(), nullable=False),
        sa.Column("allow_page_subscribers", sa.Boolean(), nullable=False),
        sa.Column("allow_incident_subscribers", sa.Boolean(), nullable=False),
        sa.Column("allow_email_subscribers", sa.Boolean(), nullable=False),
        sa.Column("allow_sms_subscribers", sa.Boolean(), nullable=False),
        sa.Column("allow_rss_atom_feeds", sa.Boolean(), nullable=False),
        sa.Column("allow_webhook_subscribers", sa.Boolean(), nullable=False),
        sa.Column("notifications_from_email", sa.String(length=255), nullable=True),
        sa.Column("notifications_email_footer", sa.Text(), nullable=True),
        sa.Column("activity_score", sa.Float(), nullable=False),
        sa.Column("twitter_username", sa.String(length=255), nullable=True),
        sa.Column("viewers_must_be_team_members", sa.Boolean(), nullable=False),
        sa.Column("ip_restrictions", sa.Text(), nullable=True),
        sa.Column("city", sa.String(length=255), nullable=True),
        sa.Column("state", sa.String(length=255), nullable=True),
        sa.Column("country", sa.String(length=255), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("css_body_background_color", sa.String(length=6), nullable=False),
        sa.Column("css_font_color", sa.String(length=6), nullable=False),
        sa.Column("css_light_font_color", sa.String(length=6), nullable=False),
        sa.Column("css_greens", sa.String(length=6), nullable=False),
        sa.Column("css_yellows", sa.String(length=6), nullable=False),
        sa.Column("css_oranges", sa.String(length=6), nullable=False),
        sa.Column("css_blues", sa.String(length=6), nullable=False),
        sa.Column("css_reds", sa.String(length=6), nullable=False),
        sa.Column("css_border_color", sa.String(length=6), nullable=False),
        sa.Column("css_graph_color", sa.String(length=6), nullable=False),
        sa.Column("css_link_color", sa.String(length=6), nullable=False),
        sa.Column("css_no_data", sa.String(length=6), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
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
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_pages_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pages")),
        sa.UniqueConstraint("domain", name=op.f("uq_pages_domain")),
        sa.UniqueConstraint("subdomain", name=op.f("uq_pages_subdomain")),
    )
    op.create_index(op.f("ix_pages_organization_id"), "pages", ["organization_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_pages_organization_id"), table_name="pages")
    op.drop_table("pages")
    op.drop_index(op.f("ix_api_keys_organization_id"), table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_index(op.f("ix_outbox_events_page_id"), table_name="outbox_events")
    op.drop_index("ix_outbox_events_pending", table_name="outbox_events")
    op.drop_table("outbox_events")
    op.drop_table("organizations")
