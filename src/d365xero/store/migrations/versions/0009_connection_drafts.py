"""Connections being made in the portal: the OAuth flows' state, PKCE verifiers and tokens so
far, sealed, found by the state's hash, expiring.

Revision ID: connection_drafts
Revises: billing
"""

import sqlalchemy as sa
from alembic import op

revision: str = "connection_drafts"
down_revision: str | None = "billing"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "connection_drafts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("connection_id", sa.String(length=36), nullable=True),
        sa.Column("state_hash", sa.String(length=64), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_connection_drafts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_connection_drafts_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connection_drafts")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_connection_drafts_state_hash")),
    )
    op.create_index(op.f("ix_connection_drafts_user_id"), "connection_drafts", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_connection_drafts_user_id"), table_name="connection_drafts")
    op.drop_table("connection_drafts")
