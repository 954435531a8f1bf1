"""metrics providers, metrics, data points and rollups

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 09:00:00.000000
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The data tables have no foreign key (a per-row check would cost more than the insert on the
# ingestion path); this trigger removes a metric's data with the metric, whichever way it goes,
# once ingestion in flight for it is done (it holds the same advisory lock shared: app/metrics/store.py).
_DROP_DATA_FUNCTION = """
CREATE FUNCTION metrics_delete_data() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(727106, hashtext(OLD.id));
    DELETE FROM metric_points WHERE metric_id = OLD.id;
    DELETE FROM metric_rollups WHERE metric_id = OLD.id;
    RETURN OLD;
END
$$
"""
_DROP_DATA_TRIGGER = """
CREATE TRIGGER metrics_delete_data AFTER DELETE ON metrics
FOR EACH ROW EXECUTE FUNCTION metrics_delete_data()
"""


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


def upgrade() -> None:
    op.create_table(
        "metrics_providers",
        sa.Column("page_id", sa.String(length=12), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("metric_base_uri", sa.String(length=2048), nullable=True),
        sa.Column("last_revalidated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("password", sa.String(length=255), nullable=True),
        sa.Column("api_key", sa.String(length=255), nullable=True),
        sa.Column("api_token", sa.String(length=255), nullable=True),
        sa.Column("application_key", sa.String(length=255), nullable=True),
        sa.Column("id", sa.String(length=12), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["page_id"],
            ["pages.id"],
            name=op.f("fk_metrics_providers_page_id_pages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metrics_providers")),
    )
    op.create_index(
        "ix_metrics_providers_page_id_created_at",
        "metrics_providers",
        ["page_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "metrics",
        sa.Column("page_id", sa.String(length=12), nullable=False),
        sa.Column("metrics_provider_id", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("metric_identifier", sa.String(length=255), nullable=True),
        sa.Column("transform", sa.String(length=16), nullable=True),
        sa.Column("application_id", sa.String(length=255), nullable=True),
        sa.Column("display", sa.Boolean(), nullable=False),
        sa.Column("tooltip_description", sa.Text(), nullable=True),
        sa.Column("backfilled", sa.Boolean(), nullable=False),
        sa.Column("y_axis_min", sa.Double(), nullable=True),
        sa.Column("y_axis_max", sa.Double(), nullable=True),
        sa.Column("y_axis_hidden", sa.Boolean(), nullable=False),
        sa.Column("suffix", sa.String(length=255), nullable=True),
        sa.Column("decimal_places", sa.Integer(), nullable=False),
        sa.Column("last_fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("backfill_percentage", sa.Integer(), nullable=False),
        sa.Column("reference_name", sa.String(length=255), nullable=True),
        sa.Column("id", sa.String(length=12), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["metrics_provider_id"],
            ["metrics_providers.id"],
            name=op.f("fk_metrics_metrics_provider_id_metrics_providers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["page_id"], ["pages.id"], name=op.f("fk_metrics_page_id_pages"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metrics")),
    )
    op.create_index(
        op.f("ix_metrics_metrics_provider_id"), "metrics", ["metrics_provider_id"], unique=False
    )
    op.create_index(
        "ix_metrics_page_id_created_at", "metrics", ["page_id", "created_at"], unique=False
    )
    op.create_table(
        "metric_points",
        sa.Column("metric_id", sa.String(length=12), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("previous", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("metric_id", "ts", name=op.f("pk_metric_points")),
    )
    op.create_table(
        "metric_rollups",
        sa.Column("metric_id", sa.String(length=12), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("sum", sa.Double(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last", sa.Double(), nullable=False),
        sa.Column("last_ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("metric_id", "period", "bucket", name=op.f("pk_metric_rollups")),
    )
    op.execute(_DROP_DATA_FUNCTION)
    op.execute(_DROP_DATA_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER metrics_delete_data ON metrics")
    op.execute("DROP FUNCTION metrics_delete_data()")
    op.drop_table("metric_rollups")
    op.drop_table("metric_points")
    op.drop_index("ix_metrics_page_id_created_at", table_name="metrics")
    op.drop_index(op.f("ix_metrics_metrics_provider_id"), table_name="metrics")
    op.drop_table("metrics")
    op.drop_index("ix_metrics_providers_page_id_created_at", table_name="metrics_providers")
    op.drop_table("metrics_providers")
