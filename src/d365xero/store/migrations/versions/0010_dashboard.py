"""The dashboard's invoices per connection and day (sync_days), filled from the runs so far.

Revision ID: dashboard
Revises: reference_imports
"""

import sqlalchemy as sa
from alembic import op

revision: str = "dashboard"
down_revision: str | None = "reference_imports"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "sync_days",
        sa.Column("connection_id", sa.String(length=36), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_sync_days_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("connection_id", "day", name=op.f("pk_sync_days")),
    )
    # The runs recorded before: by their UTC day (their connection's zone is not at hand in SQL
    # on SQLite; at most the hours around midnight land on the neighbouring day).
    day = (
        "date(started_at)"
        if op.get_bind().dialect.name == "sqlite"
        else "CAST(started_at AT TIME ZONE 'UTC' AS date)"
    )
    op.execute(
        "INSERT INTO sync_days (connection_id, day, created, updated, failed) "
        f"SELECT connection_id, {day}, SUM(invoices_created), SUM(invoices_updated), "
        f"SUM(invoices_failed) FROM sync_runs WHERE finished_at IS NOT NULL "
        f"GROUP BY connection_id, {day}"
    )


def downgrade() -> None:
    op.drop_table("sync_days")
