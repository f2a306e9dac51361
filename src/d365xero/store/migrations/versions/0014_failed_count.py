"""Each run's count of the connection's invoices with export status Failed in Dynamics after
it (the connections list's "Failed invoices"); runs before it were not counted (null).

Revision ID: failed_count
Revises: shared_limits
"""

import sqlalchemy as sa
from alembic import op

revision: str = "failed_count"
down_revision: str | None = "shared_limits"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("sync_runs") as batch:
        batch.add_column(sa.Column("failed_in_dynamics", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_runs") as batch:
        batch.drop_column("failed_in_dynamics")
