"""The hand-written migration 0008 builds exactly what the user, audience and embed models
describe, and goes down and up again cleanly."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from app.core.db import Database
from app.models import Base

TABLES = (
    "users",
    "user_page_roles",
    "api_keys",
    "page_access_users",
    "page_access_groups",
    "page_access_group_members",
    "page_access_user_components",
    "page_access_user_metrics",
    "page_access_group_components",
    "page_access_group_metrics",
    "status_embed_configs",
)


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migration_matches_models(db: Database) -> None:
    async with db.engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    ours = [d for d in differences if any(f"'{table}'" in repr(d) for table in TABLES)]
    assert ours == [], ours
