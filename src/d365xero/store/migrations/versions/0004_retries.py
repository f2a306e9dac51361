"""Invoice retries: when the push tries again an invoice Xero did not answer for.

Revision ID: retries
Revises: connection_uniqueness
"""

import sqlalchemy as sa
from alembic import op

revision: str = "retries"
down_revision: str | None = "connection_uniqueness"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "invoice_retries",
        sa.Column("connection_id", sa.String(length=36), nullable=False),
        sa.Column("invoice_id", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_invoice_retries_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("connection_id", "invoice_id", name=op.f("pk_invoice_retries")),
    )


def downgrade() -> None:
    op.drop_table("invoice_retries")
