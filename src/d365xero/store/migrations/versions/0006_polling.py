"""Polling and webhooks: each connection's poll interval, the last webhook delivery seen from
each side, and the serviceendpoint registered in Dynamics.

Revision ID: polling
Revises: workers
"""

import sqlalchemy as sa
from alembic import op

revision: str = "polling"
down_revision: str | None = "workers"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("connections") as batch:
        batch.add_column(
            sa.Column("poll_seconds", sa.Integer(), server_default="300", nullable=False)
        )
        batch.add_column(sa.Column("xero_webhook_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("dataverse_webhook_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("dataverse_endpoint_id", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("connections") as batch:
        batch.drop_column("dataverse_endpoint_id")
        batch.drop_column("dataverse_webhook_at")
        batch.drop_column("xero_webhook_at")
        batch.drop_column("poll_seconds")
