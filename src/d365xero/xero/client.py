"""XeroClient: the engine's XeroPort over Xero's official SDK (xero-python).

The SDK does the wire format; this adapter adds what a connector needs around it: tokens we
manage ourselves, our own retry policy (the SDK's urllib3 would silently retry 429s and PUTs),
an Idempotency-Key on every write, bulk look-ups, and a count of every HTTP call made.
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Protocol

import urllib3
from xero_python.accounting import AccountingApi
from xero_python.accounting import models as xm
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.oauth2 import OAuth2Token
from xero_python.api_client.serializer import serialize
from xero_python.exceptions import ApiException, RateLimitException
from xero_python.identity import IdentityApi

from d365xero.budget import CallBudget, Unlimited, one_call
from d365xero.domain.cancellation import CreditNoteDraft, XeroInvoice
from d365xero.domain.history import PaymentKind
from d365xero.domain.mapping import ContactDraft, InvoiceDraft, ItemDraft, LineDraft
from d365xero.domain.money import needs_4dp
from d365xero.domain.reconcile import XeroSide
from d365xero.domain.records import LineAmountTypes
from d365xero.domain.settlement import Applied, XeroSettlement
from d365xero.errors import AuthorisationLost, ConfigurationError, RemoteRejected, TransientError
from d365xero.reach import transport_failure
from d365xero.sync.ports import (
    Account,
    BrandingTheme,
    ContactLookup,
    CreditNoteState,
    Organisation,
    ReferenceData,
    TaxRate,
    TrackingCategory,
    XeroChange,
    XeroInvoiceResult,
)
from d365xero.xero.cache import ReferenceCache
from d365xero.xero.endpoints import XeroEndpoints
from d365xero.xero.tokens import AccessToken

NAMES_PER_LOOKUP = 25  # keeps a where= clause of names well inside URL limits
IDS_PER_LOOKUP = 50  # ContactIDs in one IDs= query string (about 1,900 characters)


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    name: str
    type: str


class TokenSource(Protocol):
    def current(self) -> AccessToken: ...

    def invalidate(self) -> None: ...


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    max_wait: float = 60.0
    backoff: float = 0.5


class XeroClient:
    def __init__(
        self,
        *,
        endpoints: XeroEndpoints,
        tenant_id: str,
        tokens: TokenSource,
        ca_bundle: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout: tuple[float, float] = (10.0, 120.0),
        cache: ReferenceCache | None = None,
        budget: CallBudget | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        # The tenant's limits, shared with every other process calling it (d365xero.budget).
        self._budget: CallBudget = budget or Unlimited()
        self.calls = 0
        self.throttled = 0  # answers of 429 (for metrics)
        self._origin = endpoints.connections
        self._cache = cache or ReferenceCache(ttl=0)
        self._tokens = tokens
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._timeout = timeout
        # Configuration() returns a copy of the first one ever made and ignores its arguments
        # (the SDK's TypeWithDefault metaclass): set what this client needs on its own copy.
        config = Configuration()
        config.oauth2_token = OAuth2Token()
        if ca_bundle:
            config.ssl_ca_cert = ca_bundle
        api_client = ApiClient(
            configuration=config,
            oauth2_token_getter=self._sdk_token,
            oauth2_token_saver=lambda token: None,
        )
        pool = api_client.rest_client.pool_manager.connection_pool_kw
        # Retries are ours to decide (with the same Idempotency-Key), never urllib3's.
        pool["retries"] = False
        if ssl_context is not None:
            # A context shared by every connection's client (it already trusts ca_bundle's
            # CAs): without it urllib3 makes one per TLS connection and loads the bundle into it.
            pool["ssl_context"] = ssl_context
            pool.pop("ca_certs", None)
        self.api = AccountingApi(api_client, base_url=endpoints.accounting)
        self.identity = IdentityApi(api_client, base_url=endpoints.connections)

    def _sdk_token(self) -> dict[str, Any]:
        token = self._tokens.current()
        return {
            "access_token": token.value,
            "token_type": "Bearer",
            "expires_at": token.expires_at,
            "expires_in": max(0, int(token.expires_at - time.time())),
            "scope": token.scope.split(),
        }

    @property
    def budget_waited(self) -> float:
        """Seconds this client's calls have waited for the shared budget."""
        return float(getattr(self._budget, "waited", 0.0))

    def close(self) -> None:
        self.api.api_client.rest_client.pool_manager.clear()

    # -- the XeroPort --------------------------------------------------------------------

    def forget_cached(self) -> None:
        self._cache.forget(self.tenant_id)

    def organisation(self) -> Organisation:
        return self._cache.get(self.tenant_id, "organisation", self._organisation)

    def _organisation(self) -> Organisation:
        orgs = self._call(self.api.get_organisations).organisations
        currencies = self._call(self.api.get_currencies).currencies or []
        org = orgs[0]
        base = _enum_value(org.base_currency)
        return Organisation(
            name=org.name,
            short_code=org.short_code,
            base_currency=base,
            currencies=frozenset({_enum_value(c.code) for c in currencies} | {base}),
        )

    def tenants(self) -> list[Tenant]:
        """The organisations this app's token can reach (GET /Connections: no tenant header)."""
        connections = self._call(self.identity.get_connections, tenant=False) or []
        return [
            Tenant(str(c.tenant_id), c.tenant_name or "", c.tenant_type or "") for c in connections
        ]

    def reference_data(self, with_themes: bool = True) -> ReferenceData:
        if with_themes:  # the Synchronisation Center's import: always fresh
            return _reference_data(self.api, self._call, with_themes=True)
        return self._cache.get(
            self.tenant_id,
            "reference",
            lambda: _reference_data(self.api, self._call, with_themes=False),
        )

    def contacts_by_name(self, names: Sequence[str]) -> ContactLookup:
        wanted = {n.lower(): n for n in names}
        active: dict[str, str] = {}
        archived: set[str] = set()
        for start in range(0, len(names), NAMES_PER_LOOKUP):
            chunk = names[start : start + NAMES_PER_LOOKUP]
            where = " OR ".join(f'Name=="{_quote(n)}"' for n in chunk)
            found = self._call(self.api.get_contacts, where=where, include_archived=True)
            for contact in found.contacts or []:
                name = (contact.name or "").lower()
                if name not in wanted:
                    continue
                if _enum_value(contact.contact_status) == "ARCHIVED":
                    archived.add(name)
                else:
                    active[wanted[name]] = contact.contact_id
        archived -= {n.lower() for n in active}
        return ContactLookup(active, frozenset(archived))

    def used_invoice_numbers(self, numbers: Sequence[str]) -> frozenset[str]:
        if not numbers:
            return frozenset()
        found = self._call(self.api.get_invoices, invoice_numbers=list(numbers), page=1)
        return frozenset(
            i.invoice_number
            for i in found.invoices or []
            if i.invoice_number and i.type == "ACCREC" and i.status != "DELETED"
        )

    def create_contacts(self, drafts: Sequence[ContactDraft], key: str) -> dict[str, str]:
        body = xm.Contacts(contacts=[_contact(d) for d in drafts])
        result = self._call(
            self.api.create_contacts, contacts=body, summarize_errors=False, idempotency_key=key
        )
        return {
            c.name: c.contact_id
            for c in result.contacts or []
            if c.contact_id and not c.has_validation_errors
        }

    def item_codes(self) -> frozenset[str]:
        return self._cache.get(self.tenant_id, "items", self._item_codes)

    def _item_codes(self) -> frozenset[str]:
        items = self._call(self.api.get_items).items or []
        return frozenset(i.code for i in items if i.code)

    def create_items(self, drafts: Sequence[ItemDraft], key: str) -> frozenset[str]:
        body = xm.Items(items=[_item(d) for d in drafts])
        result = self._call(
            self.api.create_items, items=body, summarize_errors=False, idempotency_key=key
        )
        created = frozenset(
            i.code for i in result.items or [] if i.item_id and not i.validation_errors
        )
        self._cache.put(self.tenant_id, "items", self.item_codes() | created)
        return created

    def create_invoices(self, drafts: Sequence[InvoiceDraft], key: str) -> list[XeroInvoiceResult]:
        body = xm.Invoices(invoices=[_invoice(d) for d in drafts])
        result = self._call(
            self.api.create_invoices,
            invoices=body,
            summarize_errors=False,
            unitdp=_unitdp(ln for d in drafts for ln in d.lines),
            idempotency_key=key,
        )
        return [_result(inv) for inv in result.invoices or []]

    def update_invoices(
        self, updates: Sequence[tuple[str, InvoiceDraft]], key: str
    ) -> list[XeroInvoiceResult]:
        invoices = []
        for xero_id, draft in updates:
            invoice = _invoice(draft)
            invoice.invoice_id = xero_id
            invoice.status = None  # Xero's to move once the invoice is there
            invoices.append(invoice)
        result = self._call(
            self.api.update_or_create_invoices,
            invoices=xm.Invoices(invoices=invoices),
            summarize_errors=False,
            unitdp=_unitdp(ln for _, d in updates for ln in d.lines),
            idempotency_key=key,
        )
        return [_result(inv) for inv in result.invoices or []]

    def invoice_payload(self, draft: InvoiceDraft) -> dict[str, Any]:
        """The JSON this client would send for `draft`, as the SDK serialises it."""
        body: dict[str, Any] = serialize(_invoice(draft))
        return body

    def invoices_by_id(self, ids: Sequence[str]) -> dict[str, XeroInvoiceResult]:
        if not ids:
            return {}
        result = self._call(self.api.get_invoices, i_ds=list(ids), unitdp=4)
        return {str(inv.invoice_id): _result(inv) for inv in result.invoices or []}

    def invoices_page(
        self, page: int, page_size: int = 1000, since: date | None = None
    ) -> list[XeroSide]:
        """One page (`page_size` up to Xero's 1,000) of the invoices and bills, dated `since`
        or later when given, ordered by InvoiceID: a key no change moves."""
        kwargs: dict[str, Any] = {"page": page, "page_size": page_size, "order": "InvoiceID"}
        if since is not None:
            kwargs["where"] = f"Date>=DateTime({since.year},{since.month:02d},{since.day:02d})"
        result = self._call(self.api.get_invoices, **kwargs)
        return [
            XeroSide(
                xero_id=str(inv.invoice_id).lower(),
                number=inv.invoice_number,
                status=_enum_value(inv.status),
                total=Decimal(str(inv.total or 0)),
                tax=Decimal(str(inv.total_tax or 0)),
                amount_due=Decimal(str(inv.amount_due or 0)),
                url=inv.url,
                contact_id=str(inv.contact.contact_id).lower() if inv.contact else None,
                contact_name=inv.contact.name if inv.contact else None,
                date=inv.date.date() if isinstance(inv.date, datetime) else inv.date,
                type=_enum_value(inv.type),
            )
            for inv in result.invoices or []
        ]

    def changed_invoices(
        self, since: datetime | None, page: int, page_size: int
    ) -> list[XeroSettlement]:
        """One page of the invoices and bills created or changed at or after `since` (every
        one when None), ordered by InvoiceID: a key no change moves, so an invoice changed
        while the pages are read can only repeat on a later page, never be skipped."""
        kwargs: dict[str, Any] = {"page": page, "page_size": page_size, "order": "InvoiceID"}
        if since is not None:
            kwargs["if_modified_since"] = since
        result = self._call(self.api.get_invoices, **kwargs)
        return [_settlement_invoice(inv) for inv in result.invoices or []]

    def settlements_by_id(self, ids: Sequence[str]) -> list[XeroSettlement]:
        """Paged (page 1 of up to 100), as changed_invoices reads: the same fields come back."""
        if not ids:
            return []
        result = self._call(self.api.get_invoices, i_ds=list(ids), page=1, page_size=100)
        return [_settlement_invoice(inv) for inv in result.invoices or []]

    def receivable_balances(self, contact_ids: Sequence[str]) -> dict[str, tuple[Decimal, Decimal]]:
        """ContactID -> (outstanding, overdue) receivables. Xero gives Balances only on a paged
        read (or a single contact), so each batch of IDs is asked for as page 1."""
        found: dict[str, tuple[Decimal, Decimal]] = {}
        ids = sorted(set(contact_ids))
        for start in range(0, len(ids), IDS_PER_LOOKUP):
            chunk = ids[start : start + IDS_PER_LOOKUP]
            result = self._call(
                self.api.get_contacts, i_ds=chunk, page=1, page_size=100, include_archived=True
            )
            for contact in result.contacts or []:
                receivable = getattr(contact.balances, "accounts_receivable", None)
                found[str(contact.contact_id).lower()] = (
                    _decimal(getattr(receivable, "outstanding", 0)),
                    _decimal(getattr(receivable, "overdue", 0)),
                )
        return found

    def find_invoice_by_source(self, draft: InvoiceDraft, since_epoch: float) -> str | None:
        """Matched by the Url field, which holds the Dynamics invoice's link: Xero keeps it."""
        if not draft.contact_id or not draft.url:
            return None
        since = datetime.fromtimestamp(since_epoch - 60, UTC)
        result = self._call(
            self.api.get_invoices, if_modified_since=since, contact_i_ds=[draft.contact_id]
        )
        for invoice in result.invoices or []:
            if invoice.url == draft.url and invoice.status != "DELETED":
                return str(invoice.invoice_id)
        return None

    # -- cancellations --------------------------------------------------------------------

    def invoices_for_cancellation(self, ids: Sequence[str]) -> dict[str, XeroInvoice]:
        found: dict[str, XeroInvoice] = {}
        for start in range(0, len(ids), 50):
            # Lines come with a list of invoices only when it is paged (Xero Invoices docs).
            chunk = list(ids[start : start + 50])
            result = self._call(self.api.get_invoices, i_ds=chunk, page=1, unitdp=4)
            for invoice in result.invoices or []:
                found[str(invoice.invoice_id)] = _xero_invoice(invoice)
        return found

    def delete_invoices(self, ids: Sequence[str], key: str) -> list[XeroChange]:
        body = xm.Invoices(invoices=[xm.Invoice(invoice_id=i, status="DELETED") for i in ids])
        result = self._call(
            self.api.update_or_create_invoices,
            invoices=body,
            summarize_errors=False,
            idempotency_key=key,
        )
        return [
            _change(inv.invoice_id, inv.invoice_number, inv.validation_errors)
            for inv in result.invoices or []
        ]

    def create_credit_notes(self, drafts: Sequence[CreditNoteDraft], key: str) -> list[XeroChange]:
        body = xm.CreditNotes(credit_notes=[_credit_note(d) for d in drafts])
        result = self._call(
            self.api.create_credit_notes,
            credit_notes=body,
            summarize_errors=False,
            unitdp=_unitdp(ln for d in drafts for ln in d.lines),
            idempotency_key=key,
        )
        return [
            _change(note.credit_note_id, note.credit_note_number, note.validation_errors)
            for note in result.credit_notes or []
        ]

    def allocate_credit_note(
        self, credit_note_id: str, invoice_id: str, amount: Decimal, on: date, key: str
    ) -> XeroChange:
        allocation = xm.Allocation(
            invoice=xm.Invoice(invoice_id=invoice_id), amount=float(amount), date=on
        )
        result = self._call(
            self.api.create_credit_note_allocation,
            credit_note_id=credit_note_id,
            allocations=xm.Allocations(allocations=[allocation]),
            summarize_errors=False,
            idempotency_key=key,
        )
        [made] = result.allocations or [None]
        if made is None:
            return XeroChange(False, errors=("Xero returned no allocation",))
        return _change(made.allocation_id or credit_note_id, None, made.validation_errors)

    def find_credit_note(self, draft: CreditNoteDraft) -> str | None:
        where = (
            f'Reference=="{_quote(draft.reference)}" AND '
            f'Contact.ContactID==Guid("{draft.contact_id}") AND Type=="{draft.type}"'
        )
        result = self._call(self.api.get_credit_notes, where=where)
        for note in result.credit_notes or []:
            if _enum_value(note.status) not in ("DELETED", "VOIDED"):
                return str(note.credit_note_id)
        return None

    def credit_notes_by_id(self, ids: Sequence[str]) -> dict[str, CreditNoteState]:
        found: dict[str, CreditNoteState] = {}
        for credit_note_id in ids:  # Xero has no IDs filter for credit notes
            result = self._call(self.api.get_credit_note, credit_note_id=credit_note_id)
            for note in result.credit_notes or []:
                found[str(note.credit_note_id)] = CreditNoteState(
                    xero_id=str(note.credit_note_id),
                    number=note.credit_note_number or "",
                    status=_enum_value(note.status),
                    remaining_credit=Decimal(str(note.remaining_credit or 0)),
                    allocated_to=frozenset(
                        str(a.invoice.invoice_id)
                        for a in note.allocations or []
                        if a.invoice is not None and not a.is_deleted
                    ),
                )
        return found

    # -- calls, errors and retries ---------------------------------------------------------

    def _call(self, method: Callable[..., Any], *, tenant: bool = True, **kwargs: Any) -> Any:
        last: Exception | None = None
        refreshed = False
        # Xero's limits are per tenant; the tenant-less /connections is not counted.
        budget = self._budget if tenant else Unlimited()
        for attempt in range(self._retry.attempts):
            try:
                with one_call(budget):  # in progress until it is answered
                    self.calls += 1
                    args = (self.tenant_id,) if tenant else ()
                    return method(*args, _request_timeout=self._timeout, **kwargs)
            except RateLimitException as exc:
                self.throttled += 1
                problem = (exc.rate_limit or "").lower()
                wait = _retry_after(exc)
                self._budget.hold_off(wait)  # every process waits, not only this one
                if problem == "day" or wait > self._retry.max_wait:
                    raise TransientError(
                        f"Xero's {problem or 'rate'} limit is reached; retry after {wait:.0f} s",
                        status=429,
                        service="xero",
                        retry_after=wait,
                    ) from exc
                last = exc
                self._sleep(wait)
                continue
            except ApiException as exc:
                status = int(exc.status or 0)
                if status == 401 and not refreshed:
                    self._tokens.invalidate()
                    refreshed = True
                    continue
                if status in (401, 403):
                    raise AuthorisationLost(
                        "Xero refused access to the organisation (HTTP "
                        f"{status}): reconnect Xero for this connection.",
                        status=status,
                        service="xero",
                    ) from exc
                if status < 500:
                    raise RemoteRejected(_messages(exc), status=status, service="xero") from exc
                last = exc
            except urllib3.exceptions.HTTPError as exc:
                failure = transport_failure(exc, self._origin, "xero")
                if isinstance(failure, ConfigurationError):
                    raise failure from exc  # an untrusted certificate stays untrusted
                last = exc  # timed out or dropped: the same request goes again, same key
            self._sleep(self._retry.backoff * 2**attempt)
        if isinstance(last, urllib3.exceptions.HTTPError):
            raise transport_failure(last, self._origin, "xero") from last
        raise TransientError(
            f"Xero at {self._origin} did not answer after {self._retry.attempts} tries: "
            f"{_one_line(last)}",
            service="xero",
        )


def _retry_after(exc: ApiException) -> float:
    headers = exc.headers or {}
    try:
        return float(headers.get("Retry-After") or headers.get("retry-after") or 1)
    except (TypeError, ValueError):
        return 1.0


def _one_line(exc: Exception | None) -> str:
    """What went wrong, without the SDK's multi-line dump of headers and body."""
    if isinstance(exc, ApiException):
        return f"HTTP {exc.status} {exc.reason or ''}".strip() + f" ({_messages(exc)[:200]})"
    return " ".join(str(exc).split())[:300] or type(exc).__name__


def _messages(exc: ApiException) -> str:
    try:
        body = json.loads(exc.body or b"")
    except (TypeError, ValueError):
        return (exc.body or b"").decode(errors="replace").strip() or f"HTTP {exc.status}"
    messages = [
        error.get("Message", "")
        for element in body.get("Elements", [])
        for error in element.get("ValidationErrors", [])
    ]
    return " ".join(m for m in messages if m) or str(body.get("Message") or body)


def _quote(name: str) -> str:
    return name.replace("\\", "\\\\").replace('"', '\\"')


def _enum_value(value: Any) -> str:
    return str(getattr(value, "value", value))


def _contact(draft: ContactDraft) -> xm.Contact:
    contact = xm.Contact(
        name=draft.name,
        email_address=draft.email,
        first_name=draft.first_name,
        last_name=draft.last_name,
        account_number=draft.account_number,
        tax_number=draft.tax_number,
    )
    if draft.phone:
        contact.phones = [xm.Phone(phone_type="DEFAULT", phone_number=draft.phone)]
    if draft.address:
        a = draft.address
        contact.addresses = [
            xm.Address(
                address_type="STREET",
                address_line1=a.line1,
                address_line2=a.line2,
                city=a.city,
                region=a.region,
                postal_code=a.postal_code,
                country=a.country,
            )
        ]
    return contact


def _item(draft: ItemDraft) -> xm.Item:
    sales = xm.Purchase(unit_price=float(draft.unit_price)) if draft.unit_price else None
    return xm.Item(
        code=draft.code, name=draft.name, description=draft.description, sales_details=sales
    )


def _line(line: Any) -> xm.LineItem:
    item = xm.LineItem(description=line.description)
    if line.is_note:
        return item
    item.quantity = float(line.quantity)
    item.unit_amount = float(line.unit_amount)
    item.item_code = line.item_code
    item.account_code = line.account_code
    item.tax_type = line.tax_type
    if line.discount_amount:
        item.discount_amount = float(line.discount_amount)
    if line.tracking:
        item.tracking = [xm.LineItemTracking(name=c, option=o) for c, o in line.tracking]
    return item


def _invoice(draft: InvoiceDraft) -> xm.Invoice:
    invoice = xm.Invoice(
        type=draft.type,
        contact=xm.Contact(contact_id=draft.contact_id)
        if draft.contact_id
        else xm.Contact(name=draft.contact_name),
        line_items=[_line(ln) for ln in draft.lines],
        date=draft.date,
        due_date=draft.due_date,
        line_amount_types=xm.LineAmountTypes(draft.line_amount_types.value),
        status=draft.status.value,
        invoice_number=draft.invoice_number,
        reference=draft.reference,
        branding_theme_id=draft.branding_theme_id,
        url=draft.url,
    )
    if draft.currency:
        invoice.currency_code = xm.CurrencyCode(draft.currency)
    return invoice


def _unitdp(lines: Iterable[LineDraft]) -> int:
    """Four decimal places for unit amounts when any needs them (Xero rounds to two else)."""
    amounts = [ln.unit_amount for ln in lines if ln.unit_amount is not None]
    return 4 if needs_4dp(amounts) else 2


def _change(xero_id: Any, number: str | None, errors: Any) -> XeroChange:
    messages = tuple(e.message for e in errors or [] if e.message)
    text = str(xero_id) if xero_id else ""
    text = "" if text.strip("0-") == "" else text  # a failed element has an all-zero id
    return XeroChange(bool(text) and not messages, text or None, number, messages)


def _xero_invoice(invoice: Any) -> XeroInvoice:
    return XeroInvoice(
        xero_id=str(invoice.invoice_id),
        number=invoice.invoice_number or "",
        type=_enum_value(invoice.type),
        status=_enum_value(invoice.status),
        contact_id=str(invoice.contact.contact_id) if invoice.contact else "",
        currency=_optional_enum(invoice.currency_code),
        line_amount_types=LineAmountTypes(_enum_value(invoice.line_amount_types)),
        total=Decimal(str(invoice.total or 0)),
        amount_due=Decimal(str(invoice.amount_due or 0)),
        amount_paid=Decimal(str(invoice.amount_paid or 0)),
        amount_credited=Decimal(str(invoice.amount_credited or 0)),
        lines=tuple(_line_draft(li) for li in invoice.line_items or []),
    )


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _line_draft(item: Any) -> LineDraft:
    """A Xero line as it is, to be sent again on a credit note."""
    return LineDraft(
        description=item.description or "",
        quantity=_decimal(item.quantity),
        unit_amount=_decimal(item.unit_amount),
        item_code=item.item_code,
        account_code=item.account_code,
        tax_type=item.tax_type,
        discount_amount=_decimal(item.discount_amount) or None,
        tracking=tuple((t.name, t.option) for t in item.tracking or []),
    )


def _credit_note(draft: CreditNoteDraft) -> xm.CreditNote:
    note = xm.CreditNote(
        type=draft.type,
        contact=xm.Contact(contact_id=draft.contact_id),
        date=draft.date,
        line_amount_types=xm.LineAmountTypes(draft.line_amount_types.value),
        line_items=[_line(ln) for ln in draft.lines],
        reference=draft.reference,
        status=draft.status,
    )
    if draft.currency:
        note.currency_code = xm.CurrencyCode(draft.currency)
    return note


def _amount(value: Any) -> Decimal:
    return Decimal(str(value or 0))


def _day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else None


def _applied(invoice: Any) -> tuple[Applied, ...]:
    """What Xero lists on the invoice as paid or credited to it (amounts in its currency)."""
    found = [
        Applied(
            PaymentKind.PAYMENT, str(p.payment_id), _amount(p.amount), _day(p.date), p.reference
        )
        for p in invoice.payments or []
        if p.payment_id and _enum_value(p.status) != "DELETED"
    ]
    found += [
        Applied(
            PaymentKind.CREDIT_NOTE,
            str(c.credit_note_id),
            _amount(c.applied_amount),
            _day(c.date),
            c.credit_note_number,
        )
        for c in invoice.credit_notes or []
        if c.credit_note_id
    ]
    for kind, credits, id_field in (
        (PaymentKind.OVERPAYMENT, invoice.overpayments, "overpayment_id"),
        (PaymentKind.PREPAYMENT, invoice.prepayments, "prepayment_id"),
    ):
        found += [
            Applied(
                kind,
                str(getattr(c, id_field)),
                _amount(c.applied_amount),
                _day(c.date),
                c.reference,
            )
            for c in credits or []
            if getattr(c, id_field)
        ]
    return tuple(found)


def _settlement_invoice(invoice: Any) -> XeroSettlement:
    updated = invoice.updated_date_utc
    if isinstance(updated, datetime) and updated.tzinfo is None:
        updated = updated.replace(tzinfo=UTC)
    return XeroSettlement(
        xero_id=str(invoice.invoice_id).lower(),
        status=_enum_value(invoice.status),
        currency=_enum_value(invoice.currency_code),
        amount_due=_amount(invoice.amount_due),
        amount_paid=_amount(invoice.amount_paid),
        amount_credited=_amount(invoice.amount_credited),
        contact_id=str(invoice.contact.contact_id).lower() if invoice.contact else None,
        updated=updated if isinstance(updated, datetime) else None,
        applied=_applied(invoice),
    )


def _result(invoice: Any) -> XeroInvoiceResult:
    errors = tuple(e.message for e in invoice.validation_errors or [] if e.message)
    # A failed element of a batch comes back with an all-zero InvoiceID.
    xero_id = str(invoice.invoice_id) if invoice.invoice_id else ""
    if xero_id.strip("0-") == "":
        xero_id = ""
    ok = bool(xero_id) and not errors and invoice.status_attribute_string != "ERROR"
    taxes = tuple(Decimal(str(li.tax_amount or 0)) for li in invoice.line_items or [])
    return XeroInvoiceResult(
        ok=ok,
        xero_invoice_id=xero_id or None,
        number=invoice.invoice_number,
        status=invoice.status,
        line_taxes=taxes,
        errors=errors,
        amount_paid=Decimal(str(invoice.amount_paid or 0)),
        amount_credited=Decimal(str(invoice.amount_credited or 0)),
    )


_CAN_APPLY_TO = {
    "ASSET": "can_apply_to_assets",
    "EQUITY": "can_apply_to_equity",
    "EXPENSE": "can_apply_to_expenses",
    "LIABILITY": "can_apply_to_liabilities",
    "REVENUE": "can_apply_to_revenue",
}


def _can_apply_to(rate: Any) -> frozenset[str] | None:
    flags = {cls: getattr(rate, attr, None) for cls, attr in _CAN_APPLY_TO.items()}
    if all(flag is None for flag in flags.values()):
        return None
    return frozenset(cls for cls, flag in flags.items() if flag)


def _optional_enum(value: Any) -> str | None:
    text = "" if value is None else _enum_value(value)
    return text or None


def _reference_data(api: Any, call: Callable[..., Any], *, with_themes: bool) -> ReferenceData:
    rates = call(api.get_tax_rates).tax_rates or []
    accounts = call(api.get_accounts).accounts or []
    themes = (call(api.get_branding_themes).branding_themes or []) if with_themes else []
    # Archived categories are left out by Xero unless includeArchived is asked for.
    categories = call(api.get_tracking_categories).tracking_categories or []
    return ReferenceData(
        tax_rates=tuple(
            TaxRate(
                code=r.tax_type,
                name=r.name,
                rate=Decimal(str(r.effective_rate or 0)),
                status=_enum_value(r.status),
                can_apply_to=_can_apply_to(r),
            )
            for r in rates
        ),
        accounts=tuple(
            Account(
                xero_id=str(a.account_id),
                code=a.code,
                name=a.name,
                type=_enum_value(a.type),
                tax_type=a.tax_type,
                status=_enum_value(a.status),
                account_class=_optional_enum(a._class),
                system_account=_optional_enum(a.system_account),
            )
            for a in accounts
        ),
        branding_themes=tuple(
            BrandingTheme(str(t.branding_theme_id), t.name, int(t.sort_order or 0)) for t in themes
        ),
        tracking_categories=tuple(
            TrackingCategory(
                c.name,
                tuple(o.name for o in c.options or [] if _enum_value(o.status) == "ACTIVE"),
            )
            for c in categories
            if _enum_value(c.status) == "ACTIVE"
        ),
    )
