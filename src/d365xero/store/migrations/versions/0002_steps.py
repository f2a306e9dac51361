"""Pass steps: each run records its steps; per-connection marks (watermarks, last runs).

Revision ID: steps
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision: str = "steps"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("sync_runs") as batch:
        batch.add_column(sa.Column("steps", sa.Text(), nullable=True))
    op.create_table(
        "sync_marks",
        sa.Column("connection_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.DateTime(timezone=True), nullable=True),
        sa.Column("token", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_sync_marks_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("connection_id", "name", name=op.f("pk_sync_marks")),
    )


def downgrade() -> None:
    op.drop_table("sync_marks")
    with op.batch_alter_table("sync_runs") as batch:
        batch.drop_column("steps")
