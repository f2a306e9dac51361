"""The connector's own tables: users, connections, sync runs and the write-ahead log of Xero writes.

Secrets never live here in clear: `Connection.secrets` holds a Fernet token made by
`store.secrets.SecretBox`, and no model's repr shows a secret or a password hash.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, validates

# Explicit constraint names: Alembic needs them to alter or drop constraints, above all on SQLite.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

DEFAULT_XERO_URL = "https://api.xero.com"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
DEFAULT_TIMEZONE = "Europe/London"


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timestamp that goes in and comes out as an aware UTC datetime on both databases
    (SQLite keeps no zone, so its values are stored as UTC and read back as UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the store keeps aware datetimes only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)

    _repr_fields: tuple[str, ...] = ("id",)

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name, None)!r}" for name in self._repr_fields)
        return f"{type(self).__name__}({shown})"


def _one_of(column: str, values: Iterable[StrEnum]) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_allowed")


class ConnectionStatus(StrEnum):
    active = "active"
    paused = "paused"


class RunStatus(StrEnum):
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    partial = "partial"
    # Another pass of the connection held its lock: this one did nothing. Never stored: the
    # pass that ran has the run row (see jobs.passes.run_pass).
    skipped = "skipped"


RECORDED_RUN_STATUSES = tuple(s for s in RunStatus if s is not RunStatus.skipped)


class WriteState(StrEnum):
    pending = "pending"
    applied = "applied"
    failed = "failed"


class User(Base):
    __tablename__ = "users"
    _repr_fields = ("id", "email")

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The register form's details (empty for users made before the portal had them).
    first_name: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")
    last_name: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")
    company: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    company_phone: Mapped[str] = mapped_column(sa.String(40), default="", server_default="")
    country: Mapped[str] = mapped_column(sa.String(2), default="", server_default="")
    # When the address was proved by a link sent to it (None: not yet).
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Connection(Base):
    """One Xero organisation paired with one Dynamics organisation."""

    __tablename__ = "connections"
    __table_args__ = (
        # Names are unique without regard to case: `name_key` is the name case-folded.
        sa.UniqueConstraint("user_id", "name_key"),
        # NULLs are distinct in a unique constraint, so CLI-made connections (no user) need
        # their own partial index to keep their names unique too.
        sa.Index(
            "uq_connections_name_key_without_user",
            "name_key",
            unique=True,
            sqlite_where=sa.text("user_id IS NULL"),
            postgresql_where=sa.text("user_id IS NULL"),
        ),
        # One connection per pair of organisations (rows still without a tenant are not
        # compared: NULLs are distinct). The URL is stored in the URL policy's normal form.
        sa.UniqueConstraint("xero_tenant_id", "dataverse_url"),
        _one_of("status", ConnectionStatus),
    )
    _repr_fields = ("id", "name", "status", "user_id")

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    user_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(200))
    name_key: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(16), default=ConnectionStatus.active.value)
    status_message: Mapped[str | None] = mapped_column(sa.Text)
    timezone: Mapped[str] = mapped_column(sa.String(64), default=DEFAULT_TIMEZONE)
    xero_url: Mapped[str] = mapped_column(sa.String(500), default=DEFAULT_XERO_URL)
    xero_client_id: Mapped[str | None] = mapped_column(sa.String(200))
    xero_tenant_id: Mapped[str | None] = mapped_column(sa.String(64))
    xero_tenant_name: Mapped[str | None] = mapped_column(sa.String(500))
    dataverse_url: Mapped[str | None] = mapped_column(sa.String(500))
    dataverse_tenant: Mapped[str | None] = mapped_column(sa.String(200))
    dataverse_client_id: Mapped[str | None] = mapped_column(sa.String(200))
    dataverse_connection_row_id: Mapped[str | None] = mapped_column(sa.String(36))
    # Entra ID's origin; an emulator or a sovereign cloud has its own.
    dataverse_authority: Mapped[str] = mapped_column(sa.String(500), default=DEFAULT_AUTHORITY)
    # Invoices modified in Dynamics after this moment are checked for edits to send to Xero.
    edits_checked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A Fernet token (see store.secrets); never clear text.
    secrets: Mapped[str] = mapped_column(sa.Text)
    # How often `serve` polls the connection while its webhooks are not known to work.
    poll_seconds: Mapped[int] = mapped_column(default=300, server_default="300")
    # The last webhook delivery seen from each side: recent ones let polling slow down.
    xero_webhook_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dataverse_webhook_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Our serviceendpoint row in Dynamics (its key is in `secrets`), removed with the connection.
    dataverse_endpoint_id: Mapped[str | None] = mapped_column(sa.String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # Subscription (jobs.gating): a connection whose trial or subscription has ended gets no
    # passes. NULL trial_ends_at: no trial (e.g. rows made before trials existed).
    plan: Mapped[str] = mapped_column(sa.String(32), default="trial", server_default="trial")
    trial_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    subscription_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The billing provider's status of the subscription (Stripe's: active, past_due, canceled,
    # ...): says why an ended subscription ended (domain.subscription.entitlement).
    subscription_status: Mapped[str | None] = mapped_column(sa.String(32))
    # How often `worker` passes it when nothing asked sooner (seconds).
    sync_interval: Mapped[int] = mapped_column(sa.Integer, default=300, server_default="300")

    @validates("name")
    def _keep_name_key(self, _key: str, name: str) -> str:
        self.name_key = name_key(name)
        return name


def name_key(name: str) -> str:
    """What makes two connection names the same: case and surrounding spaces do not count."""
    return name.strip().casefold()


class SyncRun(Base):
    """One sync pass over one connection, with its counters."""

    __tablename__ = "sync_runs"
    __table_args__ = (
        sa.Index("ix_sync_runs_connection_id_started_at", "connection_id", "started_at"),
        _one_of("status", RECORDED_RUN_STATUSES),
    )
    _repr_fields = ("id", "connection_id", "status", "started_at", "finished_at")

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    connection_id: Mapped[str] = mapped_column(sa.ForeignKey("connections.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(sa.String(16), default=RunStatus.running.value)
    invoices_seen: Mapped[int] = mapped_column(default=0)
    invoices_created: Mapped[int] = mapped_column(default=0)
    invoices_updated: Mapped[int] = mapped_column(default=0)
    invoices_failed: Mapped[int] = mapped_column(default=0)  # by this pass
    # The connection's invoices with export status Failed in Dynamics after this pass (None:
    # not counted, the pass stopped or Dynamics did not answer).
    failed_in_dynamics: Mapped[int | None] = mapped_column()
    xero_calls: Mapped[int] = mapped_column(default=0)
    dataverse_calls: Mapped[int] = mapped_column(default=0)
    message: Mapped[str | None] = mapped_column(sa.Text)
    # JSON list, one object per step of the pass (name, status, counts, calls, message).
    steps: Mapped[str | None] = mapped_column(sa.Text)


class SyncDay(Base):
    """A connection's invoices per day (its own time zone's day), added to by every pass as it
    is recorded (jobs/passes._record): the dashboard's chart and its synced count read a row a
    day instead of every run (store/dashboard.py)."""

    __tablename__ = "sync_days"
    _repr_fields = ("connection_id", "day", "created", "updated", "failed")

    connection_id: Mapped[str] = mapped_column(
        sa.ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    created: Mapped[int] = mapped_column(sa.Integer, default=0)
    updated: Mapped[int] = mapped_column(sa.Integer, default=0)
    failed: Mapped[int] = mapped_column(sa.Integer, default=0)


class XeroWrite(Base):
    """The write-ahead record of one write to Xero: saved (and committed by the caller) before the
    request goes out, so a crash or a lost response is recovered by replaying the same
    Idempotency-Key instead of writing twice. Xero remembers a key for about 6 minutes only
    (reference/xero.md 3.7), so recovery of an older pending write must look in Xero first."""

    __tablename__ = "xero_writes"
    __table_args__ = (
        sa.Index(
            "ix_xero_writes_connection_id_kind_source_id_state",
            "connection_id",
            "kind",
            "source_id",
            "state",
        ),
        # One request (one key) may stand for several records: a batch of invoices.
        sa.UniqueConstraint("idempotency_key", "source_id"),
        _one_of("state", WriteState),
    )
    _repr_fields = ("id", "connection_id", "kind", "source_id", "state", "xero_id")

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    connection_id: Mapped[str] = mapped_column(sa.ForeignKey("connections.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    source_id: Mapped[str] = mapped_column(sa.String(64))
    # Xero accepts keys of up to 128 characters.
    idempotency_key: Mapped[str] = mapped_column(sa.String(128))
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    state: Mapped[str] = mapped_column(sa.String(16), default=WriteState.pending.value)
    xero_id: Mapped[str | None] = mapped_column(sa.String(64))
    detail: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class XeroReference(Base):
    """Xero reference data cached between processes (organisation, tax rates, accounts,
    tracking categories, item codes), per tenant, as JSON text with its expiry."""

    __tablename__ = "xero_reference"
    _repr_fields = ("tenant_id", "kind", "expires_at")

    tenant_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    payload: Mapped[str] = mapped_column(sa.Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SyncMark(Base):
    """How far a step of a connection's passes has got, kept between processes so a restart
    neither repeats nor skips work: a moment (a watermark, or when it last ran) or a token a
    service gave (e.g. a Dataverse change-tracking delta link)."""

    __tablename__ = "sync_marks"
    _repr_fields = ("connection_id", "name", "value")

    connection_id: Mapped[str] = mapped_column(
        sa.ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[datetime | None] = mapped_column(UTCDateTime())
    token: Mapped[str | None] = mapped_column(sa.Text)


class InvoiceRetry(Base):
    """An invoice Xero did not answer for (429, 5xx, timeouts, lost replies beyond the retries
    within a request): when the push tries it again, and why it last failed."""

    __tablename__ = "invoice_retries"
    _repr_fields = ("connection_id", "invoice_id", "attempts", "next_attempt_at")

    connection_id: Mapped[str] = mapped_column(
        sa.ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    invoice_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    attempts: Mapped[int] = mapped_column(sa.Integer)
    first_failed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_reason: Mapped[str] = mapped_column(sa.Text)


class RateBudget(Base):
    """One shared rate budget (store.budgets): a Xero tenant's or a Dynamics organisation's
    calls, paced for every process at once. `next_at` is the earliest moment (epoch seconds)
    the next call may start; `blocked_until` honours a Retry-After one process was given;
    `window`/`used` count calls in a fixed window (Xero's day)."""

    __tablename__ = "rate_budgets"
    _repr_fields = ("key", "next_at", "blocked_until", "used")

    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    next_at: Mapped[float] = mapped_column(sa.Float, default=0.0)
    blocked_until: Mapped[float] = mapped_column(sa.Float, default=0.0)
    window: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    used: Mapped[int] = mapped_column(sa.Integer, default=0)


class BillingDetails(Base):
    """A portal user's billing details (the guide's "Set Up Billing"), and their customer at
    the billing provider once one was made."""

    __tablename__ = "billing_details"
    _repr_fields = ("user_id", "stripe_customer_id")

    user_id: Mapped[str] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    first_name: Mapped[str] = mapped_column(sa.String(200), default="")
    last_name: Mapped[str] = mapped_column(sa.String(200), default="")
    email: Mapped[str] = mapped_column(sa.String(320), default="")
    company_phone: Mapped[str] = mapped_column(sa.String(200), default="")
    company_position: Mapped[str] = mapped_column(sa.String(200), default="")
    company: Mapped[str] = mapped_column(sa.String(200), default="")
    vat_exempt: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    address_line1: Mapped[str] = mapped_column(sa.String(200), default="")
    address_line2: Mapped[str] = mapped_column(sa.String(200), default="")
    address_line3: Mapped[str] = mapped_column(sa.String(200), default="")
    city: Mapped[str] = mapped_column(sa.String(200), default="")
    county: Mapped[str] = mapped_column(sa.String(200), default="")
    postcode: Mapped[str] = mapped_column(sa.String(200), default="")
    country: Mapped[str] = mapped_column(sa.String(200), default="")
    stripe_customer_id: Mapped[str | None] = mapped_column(sa.String(255))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class BillingSubscription(Base):
    """A subscription at the billing provider (Stripe's `sub_...` id) paying for a connection.
    A connection that subscribes again after a cancellation has several; the newest decides."""

    __tablename__ = "billing_subscriptions"
    _repr_fields = ("id", "connection_id", "plan", "status")

    id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    connection_id: Mapped[str] = mapped_column(
        sa.ForeignKey("connections.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[str | None] = mapped_column(sa.String(255))
    plan: Mapped[str] = mapped_column(sa.String(32))
    status: Mapped[str] = mapped_column(sa.String(32))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    current_period_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class BillingEvent(Base):
    """A billing webhook event already applied (Stripe's `evt_...` id): a redelivery of it is
    acknowledged and changes nothing."""

    __tablename__ = "billing_events"
    _repr_fields = ("id", "type")

    id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PortalSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is kept, so a
    copy of the store signs no one in. Deleted at sign-out; all of a user's at a password
    change."""

    __tablename__ = "portal_sessions"
    _repr_fields = ("user_id", "expires_at")

    token_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    remember: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AccountLink(Base):
    """A one-time link e-mailed to a user (verify the address, reset the password) or printed
    by the demo (sign in). Only the token's SHA-256 is kept; used once, then deleted."""

    __tablename__ = "account_links"
    _repr_fields = ("user_id", "purpose", "expires_at")

    token_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OutboxMessage(Base):
    """An e-mail the portal would have sent, kept for the outbox page when no SMTP server is
    set (demo and embedded mode). `sealed` is the SecretBox-sealed message: its link is as
    good as a password for an hour."""

    __tablename__ = "outbox_messages"
    _repr_fields = ("id", "to_address")

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    to_address: Mapped[str] = mapped_column(sa.String(320))
    subject: Mapped[str] = mapped_column(sa.String(200))
    sealed: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class ThrottleEvent(Base):
    """Something counted against a limit: a failed login under "account:<email>" and
    "address:<ip>", an email asked for under "mail-to:<email>" and "mail-from:<ip>". In the
    store, so that every process of the portal throttles on the same counts."""

    __tablename__ = "throttle_events"
    _repr_fields = ("key", "at")

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(sa.String(400), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class ConnectionDraft(Base):
    """A connection being made in the portal (or a side being reconnected): what each OAuth
    flow has got so far, sealed like a connection's secrets (its tokens, the pending flow's
    state and PKCE verifier). The pending flow's state is found by its SHA-256 only, and a
    draft expires: an abandoned one leaves nothing usable behind."""

    __tablename__ = "connection_drafts"
    _repr_fields = ("id", "user_id", "expires_at")

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The connection a reconnect is for (None: a new connection).
    connection_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("connections.id", ondelete="CASCADE")
    )
    state_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    data: Mapped[str] = mapped_column(sa.Text)  # a Fernet token (store.secrets)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReferenceImport(Base):
    """One press of a Synchronisation Center button: which kind, how far it got (its stage, for
    the live progress), and its result (rows created, updated and deactivated in Dynamics, or
    why it failed). The newest row of each kind is what the page shows under its button."""

    __tablename__ = "reference_imports"
    __table_args__ = (sa.Index("ix_reference_imports_connection_kind", "connection_id", "kind"),)
    _repr_fields = ("connection_id", "kind", "status")

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    connection_id: Mapped[str] = mapped_column(sa.ForeignKey("connections.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(32))  # taxrates | accounts | brandingthemes
    status: Mapped[str] = mapped_column(sa.String(16))  # running | done | failed
    stage: Mapped[int] = mapped_column(sa.Integer, default=0)  # steps done, of IMPORT_STAGES
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created: Mapped[int] = mapped_column(sa.Integer, default=0)
    updated: Mapped[int] = mapped_column(sa.Integer, default=0)
    deactivated: Mapped[int] = mapped_column(sa.Integer, default=0)
    message: Mapped[str | None] = mapped_column(sa.Text)


class RateLease(Base):
    """One of a budget's slots for calls in progress (store.budgets; Xero allows 5 per tenant):
    held by whoever's `holder` it carries until `expires_at` (epoch seconds), released after the
    call. A holder that dies keeps its slot only until the lease runs out."""

    __tablename__ = "rate_leases"
    _repr_fields = ("key", "slot", "expires_at")

    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    slot: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    holder: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)
    expires_at: Mapped[float] = mapped_column(sa.Float, default=0.0)


class WebhookEvent(Base):
    """A webhook event already queued (portal.webhooks), shared by every `serve` process so a
    redelivery is queued once; `key` is a digest of what identifies the event. Rows older than
    the redelivery horizon are deleted."""

    __tablename__ = "webhook_events"
    _repr_fields = ("key", "seen_at")

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class RateStart(Base):
    """When each of a sliding-window budget's last `calls` calls starts (store.budgets): call n
    is recorded at index n mod `calls`, so the row it replaces is the call `calls` before it,
    which must have started at least a period earlier."""

    __tablename__ = "rate_starts"
    _repr_fields = ("key", "idx", "at")

    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    idx: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    at: Mapped[float] = mapped_column(sa.Float, default=0.0)
