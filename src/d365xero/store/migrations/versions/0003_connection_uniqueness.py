"""Connection names unique without regard to case; one connection per pair of organisations.

Revision ID: connection_uniqueness
Revises: steps
Create Date: 2026-12-01 10:00:00

"""

import sqlalchemy as sa
from alembic import op

revision: str = "connection_uniqueness"
down_revision: str | None = "steps"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("connections") as batch:
        batch.add_column(sa.Column("name_key", sa.String(length=200), nullable=True))
    # trim + lower is what name_key() gives for every name made so far (casefold differs from
    # lower only beyond ASCII and Latin-1 letters such as ß).
    op.execute("UPDATE connections SET name_key = lower(trim(name))")
    op.drop_index("uq_connections_name_without_user", table_name="connections")
    with op.batch_alter_table("connections") as batch:
        batch.alter_column("name_key", existing_type=sa.String(length=200), nullable=False)
        batch.drop_constraint("uq_connections_user_id_name", type_="unique")
        batch.create_unique_constraint("uq_connections_user_id_name_key", ["user_id", "name_key"])
        batch.create_unique_constraint(
            "uq_connections_xero_tenant_id_dataverse_url", ["xero_tenant_id", "dataverse_url"]
        )
    op.create_index(
        "uq_connections_name_key_without_user",
        "connections",
        ["name_key"],
        unique=True,
        sqlite_where=sa.text("user_id IS NULL"),
        postgresql_where=sa.text("user_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_connections_name_key_without_user", table_name="connections")
    with op.batch_alter_table("connections") as batch:
        batch.drop_constraint("uq_connections_xero_tenant_id_dataverse_url", type_="unique")
        batch.drop_constraint("uq_connections_user_id_name_key", type_="unique")
        batch.create_unique_constraint("uq_connections_user_id_name", ["user_id", "name"])
        batch.drop_column("name_key")
    op.create_index(
        "uq_connections_name_without_user",
        "connections",
        ["name"],
        unique=True,
        sqlite_where=sa.text("user_id IS NULL"),
        postgresql_where=sa.text("user_id IS NULL"),
    )
