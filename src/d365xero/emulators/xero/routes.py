"""The Accounting API's routes under /api.xro/2.0, one explicit Starlette route per Xero
operation (reference/xero.md §3, §4); shared plumbing is in plumbing.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from d365xero.emulators.xero.books import Books, Outcome
from d365xero.emulators.xero.errors import ElementInvalid, NotFound, ValidationException
from d365xero.emulators.xero.invoices import CREDIT_NOTE, OVERPAYMENT, PREPAYMENT, Kind
from d365xero.emulators.xero.models import XeroBackend
from d365xero.emulators.xero.plumbing import (
    API,
    NOT_FOUND_TEXT,
    Call,
    accounting,
    batch_response,
    csv_values,
    envelope,
    found,
    json_response,
    paged_envelope,
    read_json,
    select,
)
from d365xero.emulators.xero.wire import parse_bool, render

# --- settings: Organisation, TaxRates, Accounts, BrandingThemes, Currencies ----------------------


@accounting
async def get_organisation(call: Call) -> Response:
    return envelope(call.backend, "Organisations", [call.books.organisation])


@accounting
async def get_tax_rates(call: Call) -> Response:
    rendered = [render(t) for t in call.books.tax_rates.values()]
    tax_type = call.arg("TaxType")
    if tax_type:
        rendered = [r for r in rendered if r["TaxType"] == tax_type.upper()]
    return envelope(call.backend, "TaxRates", select(call, rendered, "TaxType"))


@accounting
async def get_tax_rate(call: Call) -> Response:
    rate = found(call.books.tax_rates.get(call.request.path_params["tax_type"].upper()))
    return envelope(call.backend, "TaxRates", [rate])


@accounting
async def get_accounts(call: Call) -> Response:
    rendered = [render(a) for a in call.books.accounts.values()]
    return envelope(call.backend, "Accounts", select(call, rendered, "AccountID"))


@accounting
async def get_account(call: Call) -> Response:
    wanted = call.request.path_params["account_id"].lower()
    for account in call.books.accounts.values():
        if account["AccountID"] == wanted:
            return envelope(call.backend, "Accounts", [account])
    raise NotFound()


@accounting
async def get_branding_themes(call: Call) -> Response:
    return envelope(call.backend, "BrandingThemes", call.books.branding_themes)


@accounting
async def get_branding_theme(call: Call) -> Response:
    theme = found(call.books.branding_theme(call.request.path_params["theme_id"]))
    return envelope(call.backend, "BrandingThemes", [theme])


@accounting
async def get_tracking_categories(call: Call) -> Response:
    categories = [render(c) for c in call.books.tracking_categories]
    if not parse_bool(call.arg("includeArchived"), default=False):
        categories = [c for c in categories if c["Status"] == "ACTIVE"]
    return envelope(
        call.backend, "TrackingCategories", select(call, categories, "TrackingCategoryID")
    )


@accounting
async def get_currencies(call: Call) -> Response:
    rendered = [render(c) for c in call.books.currencies]
    return envelope(call.backend, "Currencies", select(call, rendered, "Code"))


# --- batch writes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Writes:
    """A collection written in batches (reference/xero.md §3.5): the body's elements saved under
    the backend's lock, then Xero's batch answer."""

    collection: str
    id_field: str
    error_flag: str  # what marks a failed element: HasValidationErrors or HasErrors
    save: Callable[[Books, list[Any], bool, int], list[Outcome]]  # elements, create_only, unitdp
    render: Callable[[Books, dict[str, Any], int], dict[str, Any]]  # resource, unitdp

    async def write(self, call: Call, create_only: bool, path_id: str | None = None) -> Response:
        elements = await read_json(call, self.collection)
        if isinstance(elements, Response):
            return elements
        if path_id is not None:
            field = self.id_field
            elements = [dict(e, **{field: path_id}) if isinstance(e, dict) else e for e in elements]
        unitdp = call.unitdp()
        with call.backend.lock:
            outcomes = self.save(call.books, elements, create_only, unitdp)
        return batch_response(
            call,
            self.collection,
            outcomes,
            lambda r: self.render(call.books, r, unitdp),
            self.error_flag,
        )

    def routes(self, by_path: Callable[[Call], dict[str, Any]], path_param: str) -> list[Route]:
        """PUT /{collection} creates only, POST creates or updates, POST /{collection}/{id}
        updates the one the path names (its id wins over the body's)."""

        @accounting
        async def put(call: Call) -> Response:
            return await self.write(call, create_only=True)

        @accounting
        async def post(call: Call) -> Response:
            return await self.write(call, create_only=False)

        @accounting
        async def post_one(call: Call) -> Response:
            return await self.write(call, create_only=False, path_id=by_path(call)[self.id_field])

        base = f"{API}/{self.collection}"
        return [
            Route(base, put, methods=["PUT"]),
            Route(base, post, methods=["POST"]),
            Route(f"{base}/{{{path_param}}}", post_one, methods=["POST"]),
        ]

    def creates(self) -> Route:
        """PUT and POST /{collection} alike: both create (Payments, BankTransactions)."""

        @accounting
        async def create(call: Call) -> Response:
            return await self.write(call, create_only=True)

        return Route(f"{API}/{self.collection}", create, methods=["PUT", "POST"])


def _rejected(id_field: str, resource_id: str, *messages: str) -> ValidationException:
    """Xero's 400 for a request on one resource that cannot be done."""
    errors = [{"Message": m} for m in messages]
    return ValidationException([{id_field: resource_id, "ValidationErrors": errors}])


# --- Contacts ----------------------------------------------------------------------------------


def _contact_by_path(call: Call) -> dict[str, Any]:
    key = call.request.path_params["contact_id"]
    return found(call.books.contacts.get(key) or call.books.contacts.by_number(key))


# Left out by summaryOnly=true (Xero, Contacts: "Retrieving a smaller lightweight response").
SUMMARY_EXCLUDED = (
    "Addresses",
    "Balances",
    "ContactGroups",
    "ContactPersons",
    "IsCustomer",
    "IsSupplier",
    "PurchasesDefaultAccountCode",
    "PurchasesTrackingCategories",
    "SalesDefaultAccountCode",
    "SalesTrackingCategories",
)


@accounting
async def get_contacts(call: Call) -> Response:
    books = call.books
    contacts = list(books.contacts.contacts.values())
    if not parse_bool(call.arg("includeArchived"), default=False):
        contacts = [c for c in contacts if c["ContactStatus"] != "ARCHIVED"]
    summary_only = parse_bool(call.arg("summaryOnly"), default=False)
    # Balances only with paging (Xero, Contacts); the balances of all contacts in one pass.
    paged = call.arg("page") is not None and not summary_only
    balances = books.all_balances() if paged else {}
    rendered = [
        books.render_contact(c, balances.get(c["ContactID"]), with_balances=paged) for c in contacts
    ]
    term = (call.arg("searchTerm") or "").lower()
    if term:
        keys = ("Name", "FirstName", "LastName", "ContactNumber", "CompanyNumber", "EmailAddress")
        rendered = [r for r in rendered if any(term in str(r.get(k, "")).lower() for k in keys)]
    rendered = select(call, rendered, "ContactID")
    if summary_only:
        rendered = [{k: v for k, v in r.items() if k not in SUMMARY_EXCLUDED} for r in rendered]
    return paged_envelope(call, "Contacts", rendered)


@accounting
async def get_contact(call: Call) -> Response:
    contact = call.books.render_contact(_contact_by_path(call), with_balances=True)
    return envelope(call.backend, "Contacts", [contact])


CONTACTS = Writes(
    "Contacts",
    "ContactID",
    "HasValidationErrors",
    lambda books, elements, create_only, _: books.save_contacts(elements, create_only=create_only),
    lambda books, contact, _: books.render_contact(contact),
)


# --- Items -------------------------------------------------------------------------------------


def _item_by_path(call: Call) -> dict[str, Any]:
    key = call.request.path_params["item_id"]
    return found(call.books.items.get(key) or call.books.items.by_code(key))


@accounting
async def get_items(call: Call) -> Response:
    unitdp = call.unitdp()
    rendered = [call.books.render_item(i, unitdp) for i in call.books.items.items.values()]
    return envelope(call.backend, "Items", select(call, rendered, "ItemID"))


@accounting
async def get_item(call: Call) -> Response:
    item = call.books.render_item(_item_by_path(call), call.unitdp())
    return envelope(call.backend, "Items", [item])


ITEMS = Writes(
    "Items",
    "ItemID",
    "HasValidationErrors",
    lambda books, elements, create_only, unitdp: books.save_items(
        elements, create_only=create_only, unitdp=unitdp
    ),
    lambda books, item, unitdp: books.render_item(item, unitdp),
)


@accounting
async def delete_item(call: Call) -> Response:
    item = _item_by_path(call)
    with call.backend.lock:
        del call.books.items.items[item["ItemID"]]
    return Response(status_code=204)


# --- Invoices ----------------------------------------------------------------------------------


def _invoice_by_path(call: Call) -> dict[str, Any]:
    return found(call.books.invoices.get(call.request.path_params["invoice_id"]))


def _credit_note_by_path(call: Call) -> dict[str, Any]:
    return found(call.books.credit_notes.get(call.request.path_params["credit_note_id"]))


@accounting
async def get_invoices(call: Call) -> Response:
    paged = call.arg("page") is not None
    summary_only = parse_bool(call.arg("summaryOnly"), default=False)
    invoices = list(call.books.invoices.invoices.values())
    numbers = set(csv_values(call.arg("InvoiceNumbers")))
    if numbers:
        invoices = [i for i in invoices if i.get("InvoiceNumber") in numbers]
    contact_ids = {c.lower() for c in csv_values(call.arg("ContactIDs"))}
    if contact_ids:
        invoices = [i for i in invoices if i["_contact_id"] in contact_ids]
    statuses = {s.upper() for s in csv_values(call.arg("Statuses"))}
    if statuses:
        invoices = [i for i in invoices if i["Status"] in statuses]
    term = (call.arg("searchTerm") or "").lower()
    if term:
        invoices = [
            i
            for i in invoices
            if term in i.get("InvoiceNumber", "").lower() or term in i.get("Reference", "").lower()
        ]
    # Line details come only with paging (Xero Invoices docs, "Paging"), never with summaryOnly.
    return _documents(call, "Invoices", "InvoiceID", invoices, paged and not summary_only)


def _documents(
    call: Call, collection: str, id_field: str, documents: list[dict[str, Any]], lines: bool
) -> Response:
    """A list of documents with their lines or not, then IDs, If-Modified-Since, where, order
    and paging."""
    unitdp = call.unitdp()
    rendered = [call.books.render_document(d, unitdp=unitdp, with_lines=lines) for d in documents]
    return paged_envelope(call, collection, select(call, rendered, id_field))


@accounting
async def get_invoice(call: Call) -> Response:
    invoice = call.books.render_document(_invoice_by_path(call), unitdp=call.unitdp())
    return envelope(call.backend, "Invoices", [invoice])


def _render_document(books: Books, document: dict[str, Any], unitdp: int) -> dict[str, Any]:
    return books.render_document(document, unitdp=unitdp)


INVOICES = Writes(
    "Invoices",
    "InvoiceID",
    "HasErrors",
    lambda books, elements, create_only, unitdp: books.save_invoices(
        elements, create_only=create_only, unitdp=unitdp
    ),
    _render_document,
)


# --- Credit notes and allocations ---------------------------------------------------------------


@accounting
async def get_credit_notes(call: Call) -> Response:
    notes = list(call.books.credit_notes.invoices.values())
    return _documents(call, "CreditNotes", "CreditNoteID", notes, call.arg("page") is not None)


@accounting
async def get_credit_note(call: Call) -> Response:
    note = call.books.render_document(_credit_note_by_path(call), unitdp=call.unitdp())
    return envelope(call.backend, "CreditNotes", [note])


CREDIT_NOTES = Writes(
    "CreditNotes",
    "CreditNoteID",
    "HasErrors",
    lambda books, elements, create_only, unitdp: books.save_credit_notes(
        elements, create_only=create_only, unitdp=unitdp
    ),
    _render_document,
)


def _credit_by_path(call: Call, kind: Kind) -> dict[str, Any]:
    if kind is CREDIT_NOTE:
        return _credit_note_by_path(call)
    key = call.request.path_params["credit_id"]
    return found(call.books.store(kind).get(key.lower()) if isinstance(key, str) else None)


def _put_allocations(kind: Kind) -> Callable[[Request], Awaitable[Response]]:
    """PUT /{CreditNotes|Overpayments|Prepayments}/{id}/Allocations."""

    @accounting
    async def put_allocations(call: Call) -> Response:
        credit = _credit_by_path(call, kind)
        elements = await read_json(call, "Allocations")
        if isinstance(elements, Response):
            return elements
        with call.backend.lock:
            outcomes = call.books.allocate(credit, kind, elements)
        return batch_response(call, "Allocations", outcomes, render, "HasValidationErrors")

    return put_allocations


def _delete_allocation(kind: Kind) -> Callable[[Request], Awaitable[Response]]:
    """DELETE /{CreditNotes|Overpayments|Prepayments}/{id}/Allocations/{AllocationID}: the
    allocation with IsDeleted true."""

    @accounting
    async def delete_allocation(call: Call) -> Response:
        credit = _credit_by_path(call, kind)
        with call.backend.lock:
            allocation = call.books.deallocate(
                credit, kind, call.request.path_params["allocation_id"]
            )
        return json_response(found(allocation))

    return delete_allocation


# --- Bank transactions, overpayments, prepayments -------------------------------------------------


@accounting
async def get_bank_transactions(call: Call) -> Response:
    transactions = list(call.books.bank_transactions.transactions.values())
    paged = call.arg("page") is not None
    return _documents(call, "BankTransactions", "BankTransactionID", transactions, paged)


@accounting
async def get_bank_transaction(call: Call) -> Response:
    transaction = found(
        call.books.bank_transactions.get(call.request.path_params["transaction_id"])
    )
    rendered = call.books.render_document(transaction, unitdp=call.unitdp())
    return envelope(call.backend, "BankTransactions", [rendered])


# Creates only: updating or deleting bank transactions is not emulated.
BANK_TRANSACTIONS = Writes(
    "BankTransactions",
    "BankTransactionID",
    "HasErrors",
    lambda books, elements, _, unitdp: books.save_bank_transactions(elements, unitdp=unitdp),
    _render_document,
)


def _get_credits(kind: Kind) -> Callable[[Request], Awaitable[Response]]:
    """GET /Overpayments and /Prepayments: If-Modified-Since, where, order, paging."""

    @accounting
    async def get_credits(call: Call) -> Response:
        credits = list(call.books.store(kind).values())
        paged = call.arg("page") is not None
        return _documents(call, kind.collection, kind.id_field, credits, paged)

    return get_credits


def _get_credit(kind: Kind) -> Callable[[Request], Awaitable[Response]]:
    @accounting
    async def get_credit(call: Call) -> Response:
        credit = call.books.render_document(_credit_by_path(call, kind), unitdp=call.unitdp())
        return envelope(call.backend, kind.collection, [credit])

    return get_credit


# --- Payments -----------------------------------------------------------------------------------


def _payment_by_path(call: Call) -> dict[str, Any]:
    return found(call.books.payments.get(call.request.path_params["payment_id"]))


@accounting
async def get_payments(call: Call) -> Response:
    books = call.books
    rendered = [books.render_payment(p) for p in books.payments.payments.values()]
    return paged_envelope(call, "Payments", select(call, rendered, "PaymentID"))


@accounting
async def get_payment(call: Call) -> Response:
    return envelope(call.backend, "Payments", [call.books.render_payment(_payment_by_path(call))])


PAYMENTS = Writes(
    "Payments",
    "PaymentID",
    "HasValidationErrors",
    lambda books, elements, _, __: books.save_payments(elements),
    lambda books, payment, _: books.render_payment(payment),
)


@accounting
async def post_payment(call: Call) -> Response:
    """Only deletion: {"Status": "DELETED"} (spec PaymentDelete)."""
    payment = _payment_by_path(call)
    elements = await read_json(call, "Payments")
    if isinstance(elements, Response):
        return elements
    data = elements[0] if elements and isinstance(elements[0], dict) else {}
    if data.get("Status") != "DELETED":
        raise _rejected(
            "PaymentID", payment["PaymentID"], "Payments can only be deleted: send Status DELETED."
        )
    with call.backend.lock:
        try:
            call.books.delete_payment(payment)
        except ElementInvalid as exc:
            raise _rejected("PaymentID", payment["PaymentID"], *exc.messages) from exc
    return envelope(call.backend, "Payments", [call.books.render_payment(payment)])


@accounting
async def get_online_invoice(call: Call) -> Response:
    invoice = _invoice_by_path(call)
    # Online invoices exist for sales invoices that have been approved.
    if invoice["Type"] != "ACCREC" or invoice["Status"] in ("DRAFT", "SUBMITTED", "DELETED"):
        raise _rejected(
            "InvoiceID",
            invoice["InvoiceID"],
            "An online invoice cannot be created for this invoice.",
        )
    origin = str(call.request.base_url).rstrip("/")
    url = f"{origin}/in/{invoice['InvoiceID']}"
    return envelope(call.backend, "OnlineInvoices", [{"OnlineInvoiceUrl": url}])


async def online_invoice_page(request: Request) -> Response:
    """The page an OnlineInvoiceUrl opens (in.xero.com in the real service)."""
    backend: XeroBackend = request.app.state.emulator
    for books in backend.orgs.values():
        invoice = books.invoices.invoices.get(request.path_params["invoice_id"].lower())
        if invoice is not None and invoice["Type"] == "ACCREC":
            contact = books.contact_summary(invoice["_contact_id"]).get("Name", "")
            html = (
                "<!doctype html><title>Invoice {n}</title><h1>{org}</h1>"
                "<p>Invoice {n} for {c}</p><p>Total {cur} {t}</p><p>Amount due {cur} {d}</p>"
                "<p>Status {s}</p>"
            ).format(
                n=invoice.get("InvoiceNumber", ""),
                org=books.organisation["Name"],
                c=contact,
                cur=invoice["CurrencyCode"],
                t=invoice["Total"],
                d=invoice["AmountDue"],
                s=invoice["Status"],
            )
            return HTMLResponse(html)
    return PlainTextResponse(NOT_FOUND_TEXT, status_code=404)


def _credit_routes(kind: Kind) -> list[Route]:
    base = f"{API}/{kind.collection}"
    return [
        Route(base, _get_credits(kind), methods=["GET"]),
        Route(f"{base}/{{credit_id}}", _get_credit(kind), methods=["GET"]),
        Route(f"{base}/{{credit_id}}/Allocations", _put_allocations(kind), methods=["PUT"]),
        Route(
            f"{base}/{{credit_id}}/Allocations/{{allocation_id}}",
            _delete_allocation(kind),
            methods=["DELETE"],
        ),
    ]


def routes() -> list[Route]:
    return [
        Route("/in/{invoice_id}", online_invoice_page, methods=["GET"]),
        Route(f"{API}/Organisation", get_organisation, methods=["GET"]),
        Route(f"{API}/TaxRates", get_tax_rates, methods=["GET"]),
        Route(f"{API}/TaxRates/{{tax_type}}", get_tax_rate, methods=["GET"]),
        Route(f"{API}/Accounts", get_accounts, methods=["GET"]),
        Route(f"{API}/Accounts/{{account_id}}", get_account, methods=["GET"]),
        Route(f"{API}/BrandingThemes", get_branding_themes, methods=["GET"]),
        Route(f"{API}/BrandingThemes/{{theme_id}}", get_branding_theme, methods=["GET"]),
        Route(f"{API}/Currencies", get_currencies, methods=["GET"]),
        Route(f"{API}/TrackingCategories", get_tracking_categories, methods=["GET"]),
        Route(f"{API}/Contacts", get_contacts, methods=["GET"]),
        Route(f"{API}/Contacts/{{contact_id}}", get_contact, methods=["GET"]),
        *CONTACTS.routes(_contact_by_path, "contact_id"),
        Route(f"{API}/Items", get_items, methods=["GET"]),
        Route(f"{API}/Items/{{item_id}}", get_item, methods=["GET"]),
        *ITEMS.routes(_item_by_path, "item_id"),
        Route(f"{API}/Items/{{item_id}}", delete_item, methods=["DELETE"]),
        Route(f"{API}/Invoices", get_invoices, methods=["GET"]),
        Route(f"{API}/Invoices/{{invoice_id}}", get_invoice, methods=["GET"]),
        *INVOICES.routes(_invoice_by_path, "invoice_id"),
        Route(f"{API}/Invoices/{{invoice_id}}/OnlineInvoice", get_online_invoice, methods=["GET"]),
        Route(f"{API}/CreditNotes", get_credit_notes, methods=["GET"]),
        Route(f"{API}/CreditNotes/{{credit_note_id}}", get_credit_note, methods=["GET"]),
        *CREDIT_NOTES.routes(_credit_note_by_path, "credit_note_id"),
        Route(
            f"{API}/CreditNotes/{{credit_note_id}}/Allocations",
            _put_allocations(CREDIT_NOTE),
            methods=["PUT"],
        ),
        Route(
            f"{API}/CreditNotes/{{credit_note_id}}/Allocations/{{allocation_id}}",
            _delete_allocation(CREDIT_NOTE),
            methods=["DELETE"],
        ),
        Route(f"{API}/BankTransactions", get_bank_transactions, methods=["GET"]),
        BANK_TRANSACTIONS.creates(),
        Route(f"{API}/BankTransactions/{{transaction_id}}", get_bank_transaction, methods=["GET"]),
        *(route for kind in (OVERPAYMENT, PREPAYMENT) for route in _credit_routes(kind)),
        Route(f"{API}/Payments", get_payments, methods=["GET"]),
        PAYMENTS.creates(),
        Route(f"{API}/Payments/{{payment_id}}", get_payment, methods=["GET"]),
        Route(f"{API}/Payments/{{payment_id}}", post_payment, methods=["POST"]),
    ]
