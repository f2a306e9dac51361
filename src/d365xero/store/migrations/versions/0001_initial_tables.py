"""Initial tables: users, connections, sync_runs, xero_writes.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 17:38:30.406922

"""

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "connections",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_message", sa.Text(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("xero_url", sa.String(length=500), nullable=False),
        sa.Column("xero_client_id", sa.String(length=200), nullable=True),
        sa.Column("xero_tenant_id", sa.String(length=64), nullable=True),
        sa.Column("xero_tenant_name", sa.String(length=500), nullable=True),
        sa.Column("dataverse_url", sa.String(length=500), nullable=True),
        sa.Column("dataverse_tenant", sa.String(length=200), nullable=True),
        sa.Column("dataverse_client_id", sa.String(length=200), nullable=True),
        sa.Column("dataverse_connection_row_id", sa.String(length=36), nullable=True),
        sa.Column("dataverse_authority", sa.String(length=500), nullable=False),
        sa.Column("edits_checked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("secrets", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'paused')", name=op.f("ck_connections_status_allowed")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_connections_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connections")),
        sa.UniqueConstraint("user_id", "name", name=op.f("uq_connections_user_id_name")),
    )
    op.create_index(op.f("ix_connections_user_id"), "connections", ["user_id"], unique=False)
    op.create_index(
        "uq_connections_name_without_user",
        "connections",
        ["name"],
        unique=True,
        sqlite_where=sa.text("user_id IS NULL"),
        postgresql_where=sa.text("user_id IS NULL"),
    )
    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("connection_id", sa.String(length=36), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("invoices_seen", sa.Integer(), nullable=False),
        sa.Column("invoices_created", sa.Integer(), nullable=False),
        sa.Column("invoices_updated", sa.Integer(), nullable=False),
        sa.Column("invoices_failed", sa.Integer(), nullable=False),
        sa.Column("xero_calls", sa.Integer(), nullable=False),
        sa.Column("dataverse_calls", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'succeeded', 'failed', 'partial')",
            name=op.f("ck_sync_runs_status_allowed"),
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_sync_runs_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_runs")),
    )
    op.create_index(
        "ix_sync_runs_connection_id_started_at",
        "sync_runs",
        ["connection_id", "started_at"],
        unique=False,
    )
    op.create_table(
        "xero_writes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("connection_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("xero_id", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('pending', 'applied', 'failed')", name=op.f("ck_xero_writes_state_allowed")
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_xero_writes_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_xero_writes")),
        sa.UniqueConstraint(
            "idempotency_key", "source_id", name=op.f("uq_xero_writes_idempotency_key_source_id")
        ),
    )
    op.create_index(
        "ix_xero_writes_connection_id_kind_source_id_state",
        "xero_writes",
        ["connection_id", "kind", "source_id", "state"],
        unique=False,
    )
    op.create_table(
        "xero_reference",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "kind", name=op.f("pk_xero_reference")),
    )


def downgrade() -> None:
    op.drop_table("xero_reference")
    op.drop_index("ix_xero_writes_connection_id_kind_source_id_state", table_name="xero_writes")
    op.drop_table("xero_writes")
    op.drop_index("ix_sync_runs_connection_id_started_at", table_name="sync_runs")
    op.drop_table("sync_runs")
    op.drop_index("uq_connections_name_without_user", table_name="connections")
    op.drop_index(op.f("ix_connections_user_id"), table_name="connections")
    op.drop_table("connections")
    op.drop_table("users")
