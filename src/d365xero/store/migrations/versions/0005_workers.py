"""Workers: subscription dates and a pass interval on connections, shared rate budgets.

Existing connections start a 30-day trial from the upgrade (they had none).

Revision ID: workers
Revises: retries
"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "workers"
down_revision: str | None = "retries"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("connections") as batch:
        batch.add_column(
            sa.Column("plan", sa.String(length=32), server_default="trial", nullable=False)
        )
        batch.add_column(sa.Column("trial_ends_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("subscription_ends_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("sync_interval", sa.Integer(), server_default="300", nullable=False)
        )
    trial_end = datetime.now(UTC) + timedelta(days=30)
    connections = sa.table("connections", sa.column("trial_ends_at", sa.DateTime(timezone=True)))
    op.execute(connections.update().values(trial_ends_at=trial_end))
    op.create_table(
        "rate_budgets",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.Column("blocked_until", sa.Float(), nullable=False),
        sa.Column("window", sa.BigInteger(), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_budgets")),
    )


def downgrade() -> None:
    op.drop_table("rate_budgets")
    with op.batch_alter_table("connections") as batch:
        batch.drop_column("sync_interval")
        batch.drop_column("subscription_ends_at")
        batch.drop_column("trial_ends_at")
        batch.drop_column("plan")
