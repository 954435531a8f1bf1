"""The hand-written migration 0004 builds exactly what the incident models describe."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from app.core.db import Database
from app.models import Base

TABLES = ("incidents", "incident_updates", "incident_components", "incident_templates")


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migration_matches_models(db: Database) -> None:
    async with db.engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    ours = [d for d in differences if any(table in repr(d) for table in TABLES)]
    assert ours == [], ours
