"""components and status history

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 05:32:01.670792
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "components",
        sa.Column("page_id", sa.String(length=12), nullable=False),
        sa.Column("group_id", sa.String(length=12), nullable=True),
        sa.Column("is_group", sa.Boolean(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("showcase", sa.Boolean(), nullable=False),
        sa.Column("only_show_if_degraded", sa.Boolean(), nullable=False),
        sa.Column("automation_email", sa.String(length=255), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
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
            ["group_id"],
            ["components.id"],
            name=op.f("fk_components_group_id_components"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["page_id"], ["pages.id"], name=op.f("fk_components_page_id_pages"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_components")),
    )
    op.create_index(op.f("ix_components_group_id"), "components", ["group_id"], unique=False)
    op.create_index(
        "ix_components_page_id_group_id_position",
        "components",
        ["page_id", "group_id", "position"],
        unique=False,
    )
    op.create_table(
        "component_status_changes",
        sa.Column("id", sa.String(length=12), nullable=False),
        sa.Column("component_id", sa.String(length=12), nullable=False),
        sa.Column("page_id", sa.String(length=12), nullable=False),
        sa.Column("old_status", sa.String(length=32), nullable=True),
        sa.Column("new_status", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.Column("incident_id", sa.String(length=12), nullable=True),
        sa.ForeignKeyConstraint(
            ["component_id"],
            ["components.id"],
            name=op.f("fk_component_status_changes_component_id_components"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_component_status_changes")),
    )
    op.create_index(
        "ix_component_status_changes_component_id_at",
        "component_status_changes",
        ["component_id", "at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_component_status_changes_page_id"),
        "component_status_changes",
        ["page_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_component_status_changes_page_id"), table_name="component_status_changes"
    )
    op.drop_index(
        "ix_component_status_changes_component_id_at", table_name="component_status_changes"
    )
    op.drop_table("component_status_changes")
    op.drop_index("ix_components_page_id_group_id_position", table_name="components")
    op.drop_index(op.f("ix_components_group_id"), table_name="components")
    op.drop_table("components")
