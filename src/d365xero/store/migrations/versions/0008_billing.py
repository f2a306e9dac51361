"""Billing: users' billing details and provider customer, the subscriptions paying for each
connection, the webhook events already applied, and each connection's subscription status.

Revision ID: billing
Revises: portal_accounts
"""

import sqlalchemy as sa
from alembic import op

revision: str = "billing"
down_revision: str | None = "portal_accounts"
branch_labels: str | None = None
depends_on: str | None = None

TEXT_FIELDS = (
    "first_name",
    "last_name",
    "company_phone",
    "company_position",
    "company",
    "address_line1",
    "address_line2",
    "address_line3",
    "city",
    "county",
    "postcode",
    "country",
)


def upgrade() -> None:
    with op.batch_alter_table("connections") as batch:
        batch.add_column(sa.Column("subscription_status", sa.String(length=32), nullable=True))
    op.create_table(
        "billing_details",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        *(sa.Column(name, sa.String(length=200), nullable=False) for name in TEXT_FIELDS[:2]),
        sa.Column("email", sa.String(length=320), nullable=False),
        *(sa.Column(name, sa.String(length=200), nullable=False) for name in TEXT_FIELDS[2:5]),
        sa.Column("vat_exempt", sa.Boolean(), nullable=False),
        *(sa.Column(name, sa.String(length=200), nullable=False) for name in TEXT_FIELDS[5:]),
        sa.Column("stripe_customer_id", sa.String(length=255), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_billing_details_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_billing_details")),
    )
    op.create_table(
        "billing_subscriptions",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("connection_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=255), nullable=True),
        sa.Column("plan", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("current_period_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_billing_subscriptions_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_subscriptions")),
    )
    op.create_index(
        op.f("ix_billing_subscriptions_connection_id"),
        "billing_subscriptions",
        ["connection_id"],
    )
    op.create_table(
        "billing_events",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_events")),
    )


def downgrade() -> None:
    op.drop_table("billing_events")
    op.drop_index(op.f("ix_billing_subscriptions_connection_id"), "billing_subscriptions")
    op.drop_table("billing_subscriptions")
    op.drop_table("billing_details")
    with op.batch_alter_table("connections") as batch:
        batch.drop_column("subscription_status")
