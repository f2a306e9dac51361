"""Shared limits: slots for Xero's calls in progress per tenant (leased, so a dead holder frees
its slot in time), the start times of a sliding-window budget's last calls (Xero's minute), and
webhook events already queued, for every `serve` process.

Revision ID: shared_limits
Revises: dashboard
"""

import sqlalchemy as sa
from alembic import op

revision: str = "shared_limits"
down_revision: str | None = "dashboard"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "rate_leases",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(length=32), nullable=True),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", "slot", name=op.f("pk_rate_leases")),
    )
    op.create_table(
        "rate_starts",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", "idx", name=op.f("pk_rate_starts")),
    )
    op.create_table(
        "webhook_events",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_webhook_events")),
    )
    op.create_index(op.f("ix_webhook_events_seen_at"), "webhook_events", ["seen_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_webhook_events_seen_at"), table_name="webhook_events")
    op.drop_table("webhook_events")
    op.drop_table("rate_starts")
    op.drop_table("rate_leases")
