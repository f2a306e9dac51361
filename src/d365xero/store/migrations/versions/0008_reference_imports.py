"""The Synchronisation Center's imports: one row per button press, its progress and result.

Revision ID: reference_imports
Revises: connection_drafts
"""

import sqlalchemy as sa
from alembic import op

revision: str = "reference_imports"
down_revision: str | None = "connection_drafts"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "reference_imports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("connection_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("deactivated", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_reference_imports_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_imports")),
    )
    op.create_index(
        "ix_reference_imports_connection_kind", "reference_imports", ["connection_id", "kind"]
    )


def downgrade() -> None:
    op.drop_index("ix_reference_imports_connection_kind", table_name="reference_imports")
    op.drop_table("reference_imports")
