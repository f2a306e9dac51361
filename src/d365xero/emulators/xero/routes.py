"""The Accounting API's routes under /api.xro/2.0, one explicit Starlette route per Xero
operation (reference/xero.md §3, §4); shared plumbing is in plumbing.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

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
    json_response,
    page_of,
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
    rate = call.books.tax_rates.get(call.request.path_params["tax_type"].upper())
    if rate is None:
        raise NotFound()
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
    theme = call.books.branding_theme(call.request.path_params["theme_id"])
    if theme is None:
        raise NotFound()
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


# --- Contacts ----------------------------------------------------------------------------------


def _contact_by_path(call: Call) -> dict[str, Any]:
    key = call.request.path_params["contact_id"]
    contact = call.books.contacts.get(key) or call.books.contacts.by_number(key)
    if contact is None:
        raise NotFound()
    return contact


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
    items, pagination = page_of(call, rendered)
    extra = {"pagination": pagination} if pagination else {}
    return envelope(call.backend, "Contacts", items, **extra)


@accounting
async def get_contact(call: Call) -> Response:
    contact = call.books.render_contact(_contact_by_path(call), with_balances=True)
    return envelope(call.backend, "Contacts", [contact])


async def _save_contacts(call: Call, create_only: bool, path_id: str | None = None) -> Response:
    elements = await read_json(call, "Contacts")
    if isinstance(elements, Response):
        return elements
    if path_id is not None:
        elements = [dict(e, ContactID=path_id) if isinstance(e, dict) else e for e in elements]
    with call.backend.lock:
        outcomes = call.books.save_contacts(elements, create_only=create_only)
    return batch_response(
        call, "Contacts", outcomes, call.books.render_contact, "HasValidationErrors"
    )


@accounting
async def put_contacts(call: Call) -> Response:
    return await _save_contacts(call, create_only=True)


@accounting
async def post_contacts(call: Call) -> Response:
    return await _save_contacts(call, create_only=False)


@accounting
async def post_contact(call: Call) -> Response:
    contact = _contact_by_path(call)
    return await _save_contacts(call, create_only=False, path_id=contact["ContactID"])


# --- Items -------------------------------------------------------------------------------------


def _item_by_path(call: Call) -> dict[str, Any]:
    key = call.request.path_params["item_id"]
    item = call.books.items.get(key) or call.books.items.by_code(key)
    if item is None:
        raise NotFound()
    return item


@accounting
async def get_items(call: Call) -> Response:
    unitdp = call.unitdp()
    rendered = [call.books.render_item(i, unitdp) for i in call.books.items.items.values()]
    return envelope(call.backend, "Items", select(call, rendered, "ItemID"))


@accounting
async def get_item(call: Call) -> Response:
    item = call.books.render_item(_item_by_path(call), call.unitdp())
    return envelope(call.backend, "Items", [item])


async def _save_items(call: Call, create_only: bool, path_id: str | None = None) -> Response:
    elements = await read_json(call, "Items")
    if isinstance(elements, Response):
        return elements
    if path_id is not None:
        elements = [dict(e, ItemID=path_id) if isinstance(e, dict) else e for e in elements]
    unitdp = call.unitdp()
    with call.backend.lock:
        outcomes = call.books.save_items(elements, create_only=create_only, unitdp=unitdp)
    return batch_response(
        call, "Items", outcomes, lambda i: call.books.render_item(i, unitdp), "HasValidationErrors"
    )


@accounting
async def put_items(call: Call) -> Response:
    return await _save_items(call, create_only=True)


@accounting
async def post_items(call: Call) -> Response:
    return await _save_items(call, create_only=False)


@accounting
async def post_item(call: Call) -> Response:
    return await _save_items(call, create_only=False, path_id=_item_by_path(call)["ItemID"])


@accounting
async def delete_item(call: Call) -> Response:
    item = _item_by_path(call)
    with call.backend.lock:
        del call.books.items.items[item["ItemID"]]
    return Response(status_code=204)


# --- Invoices ----------------------------------------------------------------------------------


def _invoice_by_path(call: Call) -> dict[str, Any]:
    invoice = call.books.invoices.get(call.request.path_params["invoice_id"])
    if invoice is None:
        raise NotFound()
    return invoice


def _credit_note_by_path(call: Call) -> dict[str, Any]:
    note = call.books.credit_notes.get(call.request.path_params["credit_note_id"])
    if note is None:
        raise NotFound()
    return note


@accounting
async def get_invoices(call: Call) -> Response:
    books, unitdp = call.books, call.unitdp()
    paged = call.arg("page") is not None
    summary_only = parse_bool(call.arg("summaryOnly"), default=False)
    invoices = list(books.invoices.invoices.values())
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
    rendered = [
        books.render_document(i, unitdp=unitdp, with_lines=paged and not summary_only)
        for i in invoices
    ]
    rendered = select(call, rendered, "InvoiceID")
    items, pagination = page_of(call, rendered)
    extra = {"pagination": pagination} if pagination else {}
    return envelope(call.backend, "Invoices", items, **extra)


@accounting
async def get_invoice(call: Call) -> Response:
    invoice = call.books.render_document(_invoice_by_path(call), unitdp=call.unitdp())
    return envelope(call.backend, "Invoices", [invoice])


async def _save_invoices(
    call: Call, create_only: bool, path_id: str | None = None, collection: str = "Invoices"
) -> Response:
    elements = await read_json(call, collection)
    if isinstance(elements, Response):
        return elements
    id_field = "InvoiceID" if collection == "Invoices" else "CreditNoteID"
    if path_id is not None:
        elements = [dict(e, **{id_field: path_id}) if isinstance(e, dict) else e for e in elements]
    unitdp = call.unitdp()
    save = call.books.save_invoices if collection == "Invoices" else call.books.save_credit_notes
    with call.backend.lock:
        outcomes = save(elements, create_only=create_only, unitdp=unitdp)
    return batch_response(
        call,
        collection,
        outcomes,
        lambda i: call.books.render_document(i, unitdp=unitdp),
        "HasErrors",
    )


# --- Credit notes and allocations ---------------------------------------------------------------


@accounting
async def get_credit_notes(call: Call) -> Response:
    books, unitdp = call.books, call.unitdp()
    paged = call.arg("page") is not None
    rendered = [
        books.render_document(n, unitdp=unitdp, with_lines=paged)
        for n in books.credit_notes.invoices.values()
    ]
    rendered = select(call, rendered, "CreditNoteID")
    items, pagination = page_of(call, rendered)
    extra = {"pagination": pagination} if pagination else {}
    return envelope(call.backend, "CreditNotes", items, **extra)


@accounting
async def get_credit_note(call: Call) -> Response:
    note = call.books.render_document(_credit_note_by_path(call), unitdp=call.unitdp())
    return envelope(call.backend, "CreditNotes", [note])


@accounting
async def put_credit_notes(call: Call) -> Response:
    return await _save_invoices(call, create_only=True, collection="CreditNotes")


@accounting
async def post_credit_notes(call: Call) -> Response:
    return await _save_invoices(call, create_only=False, collection="CreditNotes")


@accounting
async def post_credit_note(call: Call) -> Response:
    note = _credit_note_by_path(call)
    return await _save_invoices(
        call, create_only=False, path_id=note["CreditNoteID"], collection="CreditNotes"
    )


def _credit_by_path(call: Call, kind: Kind) -> dict[str, Any]:
    if kind is CREDIT_NOTE:
        return _credit_note_by_path(call)
    key = call.request.path_params["credit_id"]
    credit = call.books.store(kind).get(key.lower()) if isinstance(key, str) else None
    if credit is None:
        raise NotFound()
    return credit


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
        if allocation is None:
            raise NotFound()
        return json_response(allocation)

    return delete_allocation


# --- Bank transactions, overpayments, prepayments -------------------------------------------------


@accounting
async def get_bank_transactions(call: Call) -> Response:
    books, unitdp = call.books, call.unitdp()
    paged = call.arg("page") is not None
    rendered = [
        books.render_document(t, unitdp=unitdp, with_lines=paged)
        for t in books.bank_transactions.transactions.values()
    ]
    rendered = select(call, rendered, "BankTransactionID")
    items, pagination = page_of(call, rendered)
    extra = {"pagination": pagination} if pagination else {}
    return envelope(call.backend, "BankTransactions", items, **extra)


@accounting
async def get_bank_transaction(call: Call) -> Response:
    transaction = call.books.bank_transactions.get(call.request.path_params["transaction_id"])
    if transaction is None:
        raise NotFound()
    rendered = call.books.render_document(transaction, unitdp=call.unitdp())
    return envelope(call.backend, "BankTransactions", [rendered])


async def _save_bank_transactions(call: Call) -> Response:
    elements = await read_json(call, "BankTransactions")
    if isinstance(elements, Response):
        return elements
    unitdp = call.unitdp()
    with call.backend.lock:
        outcomes = call.books.save_bank_transactions(elements, unitdp=unitdp)
    return batch_response(
        call,
        "BankTransactions",
        outcomes,
        lambda t: call.books.render_document(t, unitdp=unitdp),
        "HasErrors",
    )


@accounting
async def put_bank_transactions(call: Call) -> Response:
    return await _save_bank_transactions(call)


@accounting
async def post_bank_transactions(call: Call) -> Response:
    """Creates only: updating or deleting bank transactions is not emulated."""
    return await _save_bank_transactions(call)


def _get_credits(kind: Kind) -> Callable[[Request], Awaitable[Response]]:
    """GET /Overpayments and /Prepayments: If-Modified-Since, where, order, paging."""

    @accounting
    async def get_credits(call: Call) -> Response:
        books, unitdp = call.books, call.unitdp()
        paged = call.arg("page") is not None
        rendered = [
            books.render_document(c, unitdp=unitdp, with_lines=paged)
            for c in books.store(kind).values()
        ]
        rendered = select(call, rendered, kind.id_field)
        items, pagination = page_of(call, rendered)
        extra = {"pagination": pagination} if pagination else {}
        return envelope(call.backend, kind.collection, items, **extra)

    return get_credits


def _get_credit(kind: Kind) -> Callable[[Request], Awaitable[Response]]:
    @accounting
    async def get_credit(call: Call) -> Response:
        credit = call.books.render_document(_credit_by_path(call, kind), unitdp=call.unitdp())
        return envelope(call.backend, kind.collection, [credit])

    return get_credit


# --- Payments -----------------------------------------------------------------------------------


def _payment_by_path(call: Call) -> dict[str, Any]:
    payment = call.books.payments.get(call.request.path_params["payment_id"])
    if payment is None:
        raise NotFound()
    return payment


@accounting
async def get_payments(call: Call) -> Response:
    books = call.books
    rendered = [books.render_payment(p) for p in books.payments.payments.values()]
    rendered = select(call, rendered, "PaymentID")
    items, pagination = page_of(call, rendered)
    extra = {"pagination": pagination} if pagination else {}
    return envelope(call.backend, "Payments", items, **extra)


@accounting
async def get_payment(call: Call) -> Response:
    return envelope(call.backend, "Payments", [call.books.render_payment(_payment_by_path(call))])


async def _save_payments(call: Call) -> Response:
    elements = await read_json(call, "Payments")
    if isinstance(elements, Response):
        return elements
    with call.backend.lock:
        outcomes = call.books.save_payments(elements)
    return batch_response(
        call, "Payments", outcomes, call.books.render_payment, "HasValidationErrors"
    )


@accounting
async def put_payments(call: Call) -> Response:
    return await _save_payments(call)


@accounting
async def post_payments(call: Call) -> Response:
    return await _save_payments(call)


@accounting
async def post_payment(call: Call) -> Response:
    """Only deletion: {"Status": "DELETED"} (spec PaymentDelete)."""
    payment = _payment_by_path(call)
    elements = await read_json(call, "Payments")
    if isinstance(elements, Response):
        return elements
    data = elements[0] if elements and isinstance(elements[0], dict) else {}
    if data.get("Status") != "DELETED":
        raise ValidationException(
            [
                {
                    "PaymentID": payment["PaymentID"],
                    "ValidationErrors": [
                        {"Message": "Payments can only be deleted: send Status DELETED."}
                    ],
                }
            ]
        )
    with call.backend.lock:
        try:
            call.books.delete_payment(payment)
        except ElementInvalid as exc:
            raise ValidationException(
                [
                    {
                        "PaymentID": payment["PaymentID"],
                        "ValidationErrors": [{"Message": m} for m in exc.messages],
                    }
                ]
            ) from exc
    return envelope(call.backend, "Payments", [call.books.render_payment(payment)])


@accounting
async def put_invoices(call: Call) -> Response:
    return await _save_invoices(call, create_only=True)


@accounting
async def post_invoices(call: Call) -> Response:
    return await _save_invoices(call, create_only=False)


@accounting
async def post_invoice(call: Call) -> Response:
    invoice = _invoice_by_path(call)
    return await _save_invoices(call, create_only=False, path_id=invoice["InvoiceID"])


@accounting
async def get_online_invoice(call: Call) -> Response:
    invoice = _invoice_by_path(call)
    # Online invoices exist for sales invoices that have been approved.
    if invoice["Type"] != "ACCREC" or invoice["Status"] in ("DRAFT", "SUBMITTED", "DELETED"):
        raise ValidationException(
            [
                {
                    "InvoiceID": invoice["InvoiceID"],
                    "ValidationErrors": [
                        {"Message": "An online invoice cannot be created for this invoice."}
                    ],
                }
            ]
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
        Route(f"{API}/Contacts", put_contacts, methods=["PUT"]),
        Route(f"{API}/Contacts", post_contacts, methods=["POST"]),
        Route(f"{API}/Contacts/{{contact_id}}", get_contact, methods=["GET"]),
        Route(f"{API}/Contacts/{{contact_id}}", post_contact, methods=["POST"]),
        Route(f"{API}/Items", get_items, methods=["GET"]),
        Route(f"{API}/Items", put_items, methods=["PUT"]),
        Route(f"{API}/Items", post_items, methods=["POST"]),
        Route(f"{API}/Items/{{item_id}}", get_item, methods=["GET"]),
        Route(f"{API}/Items/{{item_id}}", post_item, methods=["POST"]),
        Route(f"{API}/Items/{{item_id}}", delete_item, methods=["DELETE"]),
        Route(f"{API}/Invoices", get_invoices, methods=["GET"]),
        Route(f"{API}/Invoices", put_invoices, methods=["PUT"]),
        Route(f"{API}/Invoices", post_invoices, methods=["POST"]),
        Route(f"{API}/Invoices/{{invoice_id}}", get_invoice, methods=["GET"]),
        Route(f"{API}/Invoices/{{invoice_id}}", post_invoice, methods=["POST"]),
        Route(f"{API}/Invoices/{{invoice_id}}/OnlineInvoice", get_online_invoice, methods=["GET"]),
        Route(f"{API}/CreditNotes", get_credit_notes, methods=["GET"]),
        Route(f"{API}/CreditNotes", put_credit_notes, methods=["PUT"]),
        Route(f"{API}/CreditNotes", post_credit_notes, methods=["POST"]),
        Route(f"{API}/CreditNotes/{{credit_note_id}}", get_credit_note, methods=["GET"]),
        Route(f"{API}/CreditNotes/{{credit_note_id}}", post_credit_note, methods=["POST"]),
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
        Route(f"{API}/BankTransactions", put_bank_transactions, methods=["PUT"]),
        Route(f"{API}/BankTransactions", post_bank_transactions, methods=["POST"]),
        Route(f"{API}/BankTransactions/{{transaction_id}}", get_bank_transaction, methods=["GET"]),
        *(route for kind in (OVERPAYMENT, PREPAYMENT) for route in _credit_routes(kind)),
        Route(f"{API}/Payments", get_payments, methods=["GET"]),
        Route(f"{API}/Payments", put_payments, methods=["PUT"]),
        Route(f"{API}/Payments", post_payments, methods=["POST"]),
        Route(f"{API}/Payments/{{payment_id}}", get_payment, methods=["GET"]),
        Route(f"{API}/Payments/{{payment_id}}", post_payment, methods=["POST"]),
    ]
