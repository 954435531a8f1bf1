"""organization users and page roles, user-tied API keys, page access users and groups with their
component and metric grants, status embed configs

Revision ID: 0008
Revises: 0005
Create Date: 2026-11-27 15:00:00.000000
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column[datetime]]:
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


def _fk(table: str, column: str, referred: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{referred}.id"],
        name=op.f(f"fk_{table}_{column}_{referred}"),
        ondelete="CASCADE",
    )


def _grant_table(table: str, owner: str, owners: str, item: str, items: str) -> None:
    op.create_table(
        table,
        sa.Column(owner, sa.String(length=12), nullable=False),
        sa.Column(item, sa.String(length=12), nullable=False),
        _fk(table, owner, owners),
        _fk(table, item, items),
        sa.PrimaryKeyConstraint(owner, item, name=op.f(f"pk_{table}")),
    )
    op.create_index(op.f(f"ix_{table}_{item}"), table, [item], unique=False)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("organization_id", sa.String(length=12), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("first_name", sa.String(length=255), nullable=True),
        sa.Column("last_name", sa.String(length=255), nullable=True),
        sa.Column("id", sa.String(length=12), nullable=False),
        *_timestamps(),
        _fk("users", "organization_id", "organizations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("organization_id", "email", name=op.f("uq_users_organization_id")),
    )
    op.create_table(
        "user_page_roles",
        sa.Column("user_id", sa.String(length=12), nullable=False),
        sa.Column("page_id", sa.String(length=12), nullable=False),
        sa.Column("page_configuration", sa.Boolean(), nullable=False),
        sa.Column("incident_manager", sa.Boolean(), nullable=False),
        sa.Column("maintenance_manager", sa.Boolean(), nullable=False),
        _fk("user_page_roles", "user_id", "users"),
        _fk("user_page_roles", "page_id", "pages"),
        sa.PrimaryKeyConstraint("user_id", "page_id", name=op.f("pk_user_page_roles")),
    )
    op.create_index(op.f("ix_user_page_roles_page_id"), "user_page_roles", ["page_id"])

    op.add_column("api_keys", sa.Column("user_id", sa.String(length=12), nullable=True))
    op.create_foreign_key(
        op.f("fk_api_keys_user_id_users"),
        "api_keys",
        "users",
        ["user_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_index(op.f("ix_api_keys_user_id"), "api_keys", ["user_id"])

    op.create_table(
        "page_access_users",
        sa.Column("page_id", sa.String(length=12), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("external_login", sa.String(length=255), nullable=True),
        sa.Column("subscribe_to_components", sa.Boolean(), nullable=False),
        sa.Column("id", sa.String(length=12), nullable=False),
        *_timestamps(),
        _fk("page_access_users", "page_id", "pages"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_page_access_users")),
        sa.UniqueConstraint("page_id", "email", name=op.f("uq_page_access_users_page_id")),
    )
    op.create_table(
        "page_access_groups",
        sa.Column("page_id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("external_identifier", sa.String(length=255), nullable=True),
        sa.Column("id", sa.String(length=12), nullable=False),
        *_timestamps(),
        _fk("page_access_groups", "page_id", "pages"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_page_access_groups")),
    )
    op.create_index(
        "ix_page_access_groups_page_id_created_at", "page_access_groups", ["page_id", "created_at"]
    )
    _grant_table(
        "page_access_group_members",
        "page_access_group_id",
        "page_access_groups",
        "page_access_user_id",
        "page_access_users",
    )
    _grant_table(
        "page_access_user_components",
        "page_access_user_id",
        "page_access_users",
        "component_id",
        "components",
    )
    _grant_table(
        "page_access_user_metrics",
        "page_access_user_id",
        "page_access_users",
        "metric_id",
        "metrics",
    )
    _grant_table(
        "page_access_group_components",
        "page_access_group_id",
        "page_access_groups",
        "component_id",
        "components",
    )
    _grant_table(
        "page_access_group_metrics",
        "page_access_group_id",
        "page_access_groups",
        "metric_id",
        "metrics",
    )

    op.create_table(
        "status_embed_configs",
        sa.Column("page_id", sa.String(length=12), nullable=False),
        sa.Column("position", sa.String(length=16), nullable=False),
        sa.Column("incident_background_color", sa.String(length=6), nullable=False),
        sa.Column("incident_text_color", sa.String(length=6), nullable=False),
        sa.Column("maintenance_background_color", sa.String(length=6), nullable=False),
        sa.Column("maintenance_text_color", sa.String(length=6), nullable=False),
        *_timestamps(),
        _fk("status_embed_configs", "page_id", "pages"),
        sa.PrimaryKeyConstraint("page_id", name=op.f("pk_status_embed_configs")),
    )


def downgrade() -> None:
    op.drop_table("status_embed_configs")
    for table in (
        "page_access_group_metrics",
        "page_access_group_components",
        "page_access_user_metrics",
        "page_access_user_components",
        "page_access_group_members",
    ):
        op.drop_table(table)
    op.drop_index("ix_page_access_groups_page_id_created_at", table_name="page_access_groups")
    op.drop_table("page_access_groups")
    op.drop_table("page_access_users")
    op.drop_index(op.f("ix_api_keys_user_id"), table_name="api_keys")
    op.drop_constraint(op.f("fk_api_keys_user_id_users"), "api_keys", type_="foreignkey")
    op.drop_column("api_keys", "user_id")
    op.drop_table("user_page_roles")
    op.drop_table("users")
