"""Portal accounts: the register form's details and e-mail verification on users; one-time
links (verify, reset, sign in), the outbox of messages when no SMTP is set, throttle events
(failed logins, emails asked for).

Revision ID: portal_accounts
Revises: portal_sessions
"""

import sqlalchemy as sa
from alembic import op

revision: str = "portal_accounts"
down_revision: str | None = "portal_sessions"
branch_labels: str | None = None
depends_on: str | None = None

_PROFILE = (("first_name", 100), ("last_name", 100), ("company", 200), ("company_phone", 40))


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        for name, size in (*_PROFILE, ("country", 2)):
            batch.add_column(
                sa.Column(name, sa.String(length=size), nullable=False, server_default="")
            )
        batch.add_column(sa.Column("email_verified_at", sa.DateTime(timezone=True)))
    op.create_table(
        "account_links",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_account_links_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_account_links")),
    )
    op.create_index(op.f("ix_account_links_user_id"), "account_links", ["user_id"])
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("to_address", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
    )
    op.create_index(op.f("ix_outbox_messages_created_at"), "outbox_messages", ["created_at"])
    op.create_table(
        "throttle_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_throttle_events")),
    )
    op.create_index(op.f("ix_throttle_events_key"), "throttle_events", ["key"])


def downgrade() -> None:
    op.drop_index(op.f("ix_throttle_events_key"), table_name="throttle_events")
    op.drop_table("throttle_events")
    op.drop_index(op.f("ix_outbox_messages_created_at"), table_name="outbox_messages")
    op.drop_table("outbox_messages")
    op.drop_index(op.f("ix_account_links_user_id"), table_name="account_links")
    op.drop_table("account_links")
    with op.batch_alter_table("users") as batch:
        for name in ("email_verified_at", "country", *(n for n, _ in reversed(_PROFILE))):
            batch.drop_column(name)
