"""What the engine needs of Dynamics, Xero and the store: small protocols the clients implement,
so a pass can run against the emulators, the real services or any test double alike."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from d365xero.domain.cancellation import CreditNoteDraft, XeroInvoice
from d365xero.domain.fieldmap import NO_EXTRA, ExtraColumns
from d365xero.domain.history import WriteBack
from d365xero.domain.mapping import ContactDraft, InvoiceDraft, ItemDraft
from d365xero.domain.records import ConnectorSettings, Invoice
from d365xero.domain.retry import RetryPolicy, RetryState
from d365xero.domain.settlement import HeldCustomer, HeldInvoice, XeroSettlement


@dataclass(frozen=True)
class XeroInvoiceResult:
    """Xero's answer for one invoice of a batch, in the order they were sent."""

    ok: bool
    xero_invoice_id: str | None = None
    number: str | None = None
    status: str | None = None
    line_taxes: tuple[Decimal, ...] = ()
    errors: tuple[str, ...] = ()
    url: str | None = None
    amount_paid: Decimal = Decimal(0)
    amount_credited: Decimal = Decimal(0)


@dataclass(frozen=True)
class FailedInvoice:
    """A Dynamics invoice whose export status is Failed, with its Xero details row (and, when
    asked for, its latest failed Sync History row: why, and when)."""

    invoice_id: str
    number: str
    detail_id: str
    reason: str = ""
    failed_at: datetime | None = None


@dataclass(frozen=True)
class ContactLookup:
    active: dict[str, str]  # name as asked -> ContactID
    archived: frozenset[str] = frozenset()  # names (lower case) only archived contacts have


@dataclass(frozen=True)
class Organisation:
    name: str
    short_code: str | None
    base_currency: str
    currencies: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class TaxRate:
    code: str
    name: str
    rate: Decimal
    status: str
    # Account classes (ASSET, EQUITY, EXPENSE, LIABILITY, REVENUE) this rate may be used with,
    # from Xero's CanApplyTo* flags; None when unknown.
    can_apply_to: frozenset[str] | None = None


@dataclass(frozen=True)
class Account:
    xero_id: str
    code: str | None
    name: str
    type: str
    tax_type: str | None
    status: str
    account_class: str | None = None  # Xero's Class: ASSET, EQUITY, EXPENSE, LIABILITY, REVENUE
    system_account: str | None = None  # e.g. DEBTORS, GST: Xero posts to these itself


@dataclass(frozen=True)
class BrandingTheme:
    xero_id: str
    name: str
    sort_order: int


@dataclass(frozen=True)
class TrackingCategory:
    """An active Xero tracking category with its active options."""

    name: str
    options: tuple[str, ...]


@dataclass(frozen=True)
class ReferenceData:
    tax_rates: tuple[TaxRate, ...]
    accounts: tuple[Account, ...]
    branding_themes: tuple[BrandingTheme, ...]
    tracking_categories: tuple[TrackingCategory, ...] = ()


class DynamicsPort(Protocol):
    def settings(self) -> ConnectorSettings: ...

    def ready_invoices(self, limit: int, extra: ExtraColumns, delivered_by: date) -> list[Invoice]:
        """The first `limit` invoices of this connection ready to export (exported ones leave
        the set, so the engine asks again rather than paging), with the further columns the
        field mappings read."""
        ...

    def column_types(self, table: str) -> dict[str, str]:
        """Column logical name -> Dataverse AttributeType."""
        ...

    def edited_invoice_pages(
        self, since: datetime, page_size: int, extra: ExtraColumns = NO_EXTRA
    ) -> Iterator[list[Invoice]]:
        """Exported invoices of this connection modified in Dynamics after `since`."""
        ...

    def write_back(self, changes: Sequence[WriteBack]) -> list[str]:
        """Writes the changes; returns Dynamics' reasons for any it refused."""
        ...

    def has_reference_rows(self, kind: str) -> bool:
        """Whether Dynamics has any active row of `kind` (taxrates, accounts, brandingthemes)."""
        ...

    def write_reference_data(
        self, tenant_id: str, data: ReferenceData, kinds: Sequence[str] = ...
    ) -> dict[str, int]:
        """Upsert the kinds asked for (all by default) and deactivate rows Xero no longer
        lists; counts by table."""
        ...


class XeroPort(Protocol):
    def organisation(self) -> Organisation: ...

    def reference_data(self, with_themes: bool = True) -> ReferenceData:
        """Tax rates, accounts and tracking categories (and branding themes, unless not
        needed: a pass does not use them)."""
        ...

    def forget_cached(self) -> None:
        """Drop what the client keeps of Xero's reference data: it may have changed."""
        ...

    def contacts_by_name(self, names: Sequence[str]) -> ContactLookup:
        """Which of these names are contacts in Xero (compared as Xero does, ignoring case)."""
        ...

    def used_invoice_numbers(self, numbers: Sequence[str]) -> frozenset[str]:
        """Which of these sales invoice numbers Xero already has."""
        ...

    def create_contacts(self, drafts: Sequence[ContactDraft], key: str) -> dict[str, str]: ...

    def item_codes(self) -> frozenset[str]: ...

    def create_items(self, drafts: Sequence[ItemDraft], key: str) -> frozenset[str]: ...

    def create_invoices(
        self, drafts: Sequence[InvoiceDraft], key: str
    ) -> list[XeroInvoiceResult]: ...

    def update_invoices(
        self, updates: Sequence[tuple[str, InvoiceDraft]], key: str
    ) -> list[XeroInvoiceResult]:
        """Send each draft as the new content of the Xero invoice whose id it is paired with."""
        ...

    def invoices_by_id(self, ids: Sequence[str]) -> dict[str, XeroInvoiceResult]: ...

    def invoice_payload(self, draft: InvoiceDraft) -> dict[str, Any]:
        """What would be sent for `draft` (for a dry run)."""
        ...

    def find_invoice_by_source(self, draft: InvoiceDraft, since_epoch: float) -> str | None:
        """The InvoiceID of an invoice an earlier, unconfirmed write created for `draft`."""
        ...


class BackSyncDynamics(Protocol):
    """What the back-sync needs of Dynamics."""

    def linked_invoices(self, xero_ids: Sequence[str]) -> dict[str, HeldInvoice]:
        """Xero InvoiceID (lower case) -> what Dynamics holds of the exported invoice."""
        ...

    def linked_customers(self) -> list[HeldCustomer]: ...

    def write_back(self, changes: Sequence[WriteBack]) -> list[str]: ...


class BackSyncXero(Protocol):
    """What the back-sync reads from Xero."""

    def changed_invoices(
        self, since: datetime | None, page: int, page_size: int
    ) -> list[XeroSettlement]: ...

    def settlements_by_id(self, ids: Sequence[str]) -> list[XeroSettlement]:
        """These invoices (InvoiceIDs), as the back-sync reads them."""
        ...

    def receivable_balances(self, contact_ids: Sequence[str]) -> dict[str, tuple[Decimal, Decimal]]:
        """ContactID (lower case) -> (outstanding, overdue) receivables."""
        ...


@dataclass(frozen=True)
class InvoiceChanges:
    """What Dynamics' change feed of invoices says happened since the last delta link."""

    cancelled: tuple[str, ...]  # invoices of this connection now Canceled (statecode 3)
    deleted: tuple[str, ...]  # invoices deleted (of any connection: Dynamics does not say)
    delta_link: str  # where the next pass continues
    # Every invoice id there is, when this was a full read (the first pass, or the old link had
    # expired): an exported invoice missing from it was deleted meanwhile.
    present: frozenset[str] | None = None
    expired: bool = False  # the old delta link was refused as expired: this is a full read
    names: Mapping[str, str] = field(default_factory=dict)  # invoice id -> name, where known


@dataclass(frozen=True)
class XeroChange:
    """Xero's answer for one record of a batch write."""

    ok: bool
    xero_id: str | None = None
    number: str | None = None
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class CreditNoteState:
    xero_id: str
    number: str
    status: str
    remaining_credit: Decimal
    allocated_to: frozenset[str]  # InvoiceIDs


class CancellationDynamics(Protocol):
    def settings(self) -> ConnectorSettings: ...

    def invoice_changes(self, delta_link: str | None) -> InvoiceChanges:
        """Invoices cancelled or deleted since `delta_link` (None: a first, full read)."""
        ...

    def write_back(self, changes: Sequence[WriteBack]) -> list[str]: ...


class FailedCountDynamics(Protocol):
    def failed_count(self) -> int:
        """How many of the connection's invoices have export status Failed."""
        ...


class CancellationXero(Protocol):
    def invoices_for_cancellation(self, ids: Sequence[str]) -> dict[str, XeroInvoice]:
        """The invoices with their lines, by InvoiceID (one that is gone is left out)."""
        ...

    def delete_invoices(self, ids: Sequence[str], key: str) -> list[XeroChange]: ...

    def create_credit_notes(
        self, drafts: Sequence[CreditNoteDraft], key: str
    ) -> list[XeroChange]: ...

    def allocate_credit_note(
        self, credit_note_id: str, invoice_id: str, amount: Decimal, on: date, key: str
    ) -> XeroChange: ...

    def find_credit_note(self, draft: CreditNoteDraft) -> str | None:
        """The CreditNoteID of a live credit note an earlier, unconfirmed write made for
        `draft` (found by its Reference and contact)."""
        ...

    def credit_notes_by_id(self, ids: Sequence[str]) -> dict[str, CreditNoteState]: ...


@dataclass(frozen=True)
class PendingWrite:
    key: str
    kind: str
    source_ids: tuple[str, ...]
    created_epoch: float


@dataclass(frozen=True)
class AppliedWrite:
    xero_id: str
    fingerprint: str  # sha256 of what was sent for the record: tells whether it changed since


class WriteLedger(Protocol):
    """The write-ahead record of Xero writes: durable before the request is sent."""

    def begin(self, kind: str, parts: Mapping[str, bytes]) -> str:
        """Record the intent for each record (its id -> its part of the request) durably and
        return the Idempotency-Key to send."""
        ...

    def applied(self, key: str, xero_ids: dict[str, str | None]) -> None: ...

    def failed(self, key: str, source_ids: Sequence[str], detail: str) -> None: ...

    def last_applied(self, kind: str, source_ids: Sequence[str]) -> dict[str, AppliedWrite]:
        """The latest applied write of each of these records that has one."""
        ...

    def pending(self, kind: str) -> list[PendingWrite]: ...

    def applied_sources(self, kind: str) -> dict[str, str]:
        """Every record with an applied write of this kind -> the Xero id of its latest."""
        ...

    def edits_checked_until(self) -> datetime | None:
        """Edits made in Dynamics before this moment have been dealt with."""
        ...

    def mark_edits_checked(self, until: datetime) -> None: ...


class Marks(Protocol):
    """Per-connection marks kept in the store between passes: a step's watermark, or when it
    last ran, or a token a service gave to continue from. Each change is durable at once (its
    own transaction)."""

    def get(self, name: str) -> datetime | None: ...

    def set(self, name: str, value: datetime) -> None: ...

    def token(self, name: str) -> str | None: ...

    def set_token(self, name: str, token: str) -> None: ...

    def clear(self, name: str) -> None: ...


class RetryBook(Protocol):
    """Invoices Xero did not answer for, and when each is tried again (kept in the store)."""

    policy: RetryPolicy

    def states(self, invoice_ids: Sequence[str]) -> dict[str, RetryState]: ...

    def failed(
        self, invoice_ids: Sequence[str], reason: str, now: datetime
    ) -> dict[str, RetryState]:
        """One more transient failure for each: their new states (next attempt, backoff)."""
        ...

    def clear(self, invoice_ids: Sequence[str]) -> None: ...


class NoRetries:
    """A book that keeps nothing (a dry run, or a test that does not care)."""

    policy = RetryPolicy()

    def states(self, invoice_ids: Sequence[str]) -> dict[str, RetryState]:
        return {}

    def failed(
        self, invoice_ids: Sequence[str], reason: str, now: datetime
    ) -> dict[str, RetryState]:
        return {}

    def clear(self, invoice_ids: Sequence[str]) -> None:
        return None
