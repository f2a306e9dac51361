"""The HTTP shape of Xero: identity (/connect/token, /Connections) and the Accounting API under
/api.xro/2.0, with Xero's envelope, error bodies and status codes (reference/xero.md §3, §5)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from d365xero.emulators.xero.books import Books, Outcome
from d365xero.emulators.xero.errors import (
    ElementInvalid,
    Forbidden,
    NotFound,
    OAuthError,
    QueryParseException,
    RateLimited,
    Unauthorized,
    ValidationException,
    XeroError,
)
from d365xero.emulators.xero.identity import AccessToken
from d365xero.emulators.xero.models import IDEMPOTENCY_KEY_MAX, XeroBackend, fingerprint
from d365xero.emulators.xero.scopes import allowed, resource_of
from d365xero.emulators.xero.webhooks import DEFAULT_RETRY_DELAYS
from d365xero.emulators.xero.where import compile_where
from d365xero.emulators.xero.wire import ms_date, parse_bool, parse_datetime, render

API = "/api.xro/2.0"
MAX_BODY = 3_500_000  # Xero's 3.5 MB request limit (developer.xero.com, xero-api-limits)
NOT_FOUND_TEXT = "The resource you're looking for cannot be found"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
JSON_TYPE = "application/json; charset=utf-8"


# --- responses ---------------------------------------------------------------------------------


def json_response(body: Any, status: int = 200) -> Response:
    text = json.dumps(render(body), ensure_ascii=False, separators=(",", ":"))
    return Response(text.encode(), status_code=status, media_type=JSON_TYPE)


def envelope(backend: XeroBackend, name: str, items: list[Any], **extra: Any) -> Response:
    body: dict[str, Any] = {
        "Id": str(uuid.uuid4()),
        "Status": "OK",
        "ProviderName": backend.app.name,
        "DateTimeUTC": ms_date(backend.now()),
    }
    body.update(extra)
    body[name] = items
    return json_response(body)


def _problem(status: int, title: str, detail: str) -> Response:
    body: dict[str, Any] = {
        "Type": None,
        "Title": title,
        "Status": status,
        "Detail": detail,
        "Instance": str(uuid.uuid4()),
        "Extensions": {},
    }
    return JSONResponse(body, status_code=status)


def error_response(exc: XeroError) -> Response:
    if isinstance(exc, ValidationException):
        body: dict[str, Any] = {
            "ErrorNumber": 10,
            "Type": "ValidationException",
            "Message": exc.message,
        }
        if exc.elements or exc.message == "A validation exception occurred":
            body["Elements"] = exc.elements
        return json_response(body, 400)
    if isinstance(exc, QueryParseException):
        return json_response(
            {"ErrorNumber": 16, "Type": "QueryParseException", "Message": exc.message}, 400
        )
    if isinstance(exc, NotFound):
        return PlainTextResponse(NOT_FOUND_TEXT, status_code=404)
    if isinstance(exc, Unauthorized):
        return _problem(401, "Unauthorized", exc.detail)
    if isinstance(exc, Forbidden):
        return _problem(403, "Forbidden", exc.detail)
    if isinstance(exc, RateLimited):
        headers = dict(exc.headers, **{"X-Rate-Limit-Problem": exc.problem})
        if exc.retry_after:
            headers["Retry-After"] = str(exc.retry_after)
        return PlainTextResponse("", status_code=429, headers=headers)
    if isinstance(exc, OAuthError):
        body = {"error": exc.error}
        if exc.description:
            body["error_description"] = exc.description
        return JSONResponse(body, status_code=400)
    return PlainTextResponse("An unhandled error with the Xero API", status_code=500)


def invalid_post_data(message: str = "Invalid Json data") -> Response:
    # Xero's answer to a body it cannot read (PostDataInvalidException, ErrorNumber 14).
    return json_response(
        {"ErrorNumber": 14, "Type": "PostDataInvalidException", "Message": message}, 400
    )


# --- request context -----------------------------------------------------------------------------


@dataclass
class Call:
    backend: XeroBackend
    token: AccessToken
    books: Books
    request: Request

    def arg(self, name: str) -> str | None:
        """A query parameter, matched case-insensitively as Xero does."""
        for key, value in self.request.query_params.items():
            if key.lower() == name.lower():
                return value
        return None

    def unitdp(self) -> int:
        return 4 if self.arg("unitdp") == "4" else 2


Handler = Callable[[Call], Awaitable[Response]]


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    if not accept:
        return True
    return any(
        part.split(";")[0].strip() in ("application/json", "*/*", "application/*", "text/json")
        for part in accept.split(",")
    )


def accounting(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Bearer token, then `xero-tenant-id`, then Xero's errors for whatever goes wrong."""

    async def endpoint(request: Request) -> Response:
        backend: XeroBackend = request.app.state.emulator
        try:
            token = backend.token(request.headers.get("authorization"))
            books = backend.books_for(token, request.headers.get("xero-tenant-id"))
            resource = resource_of(request.url.path, API)
            if not allowed(token.scopes, resource, request.method):
                raise Unauthorized("AuthorizationUnsuccessful")
            if not _wants_json(request):
                return PlainTextResponse(
                    "This emulator answers in JSON only: send Accept: application/json",
                    status_code=406,
                )
            call = Call(backend, token, books, request)
            limits = backend.limiter.acquire(books.tenant_id)
        except XeroError as exc:
            return error_response(exc)
        try:
            key = request.headers.get("idempotency-key")
            if key is not None and request.method in ("PUT", "POST", "PATCH"):
                response = await _idempotent(call, key, handler)
            else:
                response = await handler(call)
        except XeroError as exc:
            response = error_response(exc)
        finally:
            backend.limiter.release(books.tenant_id)
        response.headers.update(limits)
        return response

    return endpoint


async def _idempotent(call: Call, key: str, handler: Handler) -> Response:
    if len(key) > IDEMPOTENCY_KEY_MAX:
        raise ValidationException(
            [], message=f"Idempotency-Key must be {IDEMPOTENCY_KEY_MAX} characters or fewer."
        )
    body = await call.request.body()
    mark = fingerprint(call.request.method, call.request.url.path, call.request.url.query, body)
    with call.backend.lock:
        entry = call.backend.idempotent_replay(call.books.tenant_id, key, mark)
        if entry is not None:
            return Response(entry.body, status_code=entry.status, headers=entry.headers)
        try:
            response = await handler(call)
        except XeroError as exc:
            response = error_response(exc)
        content_type = response.headers.get("content-type", JSON_TYPE)
        call.backend.idempotent_store(
            call.books.tenant_id,
            key,
            mark,
            response.status_code,
            bytes(response.body),
            {"content-type": content_type},
        )
        return response


async def read_json(call: Call, collection: str) -> list[Any] | Response:
    """The elements of a write: `{"<Collection>": [...]}` or one bare object, as Xero accepts."""
    raw = await call.request.body()
    if len(raw) > MAX_BODY:
        return PlainTextResponse("Request Entity Too Large", status_code=413)
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return invalid_post_data()
    if isinstance(body, dict) and collection in body:
        elements = body[collection]
        if not isinstance(elements, list):
            return invalid_post_data(f"{collection} must be a list")
        return elements
    if isinstance(body, dict):
        return [body]
    return invalid_post_data()


# --- lists: filters, order, paging ---------------------------------------------------------------


def _csv(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _since(call: Call) -> datetime | None:
    header = call.request.headers.get("if-modified-since")
    if not header:
        return None
    parsed = parse_datetime(header)
    if parsed is None:
        try:  # the HTTP-date form, e.g. "Wed, 25 Nov 2026 17:00:00 GMT"
            parsed = parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return None
    return parsed


def select(call: Call, rendered: list[dict[str, Any]], id_field: str) -> list[dict[str, Any]]:
    """IDs, If-Modified-Since, where and order, applied to rendered resources.

    If-Modified-Since keeps what was created or updated at or after that second (Xero,
    "requests and responses"); resources without UpdatedDateUTC ignore it."""
    ids = {i.lower() for i in _csv(call.arg("IDs"))}
    if ids:
        rendered = [r for r in rendered if str(r.get(id_field, "")).lower() in ids]
    since = _since(call)
    if since is not None and rendered and "UpdatedDateUTC" in rendered[0]:
        floor = int(since.replace(microsecond=0).timestamp() * 1000)
        rendered = [r for r in rendered if _ms(r.get("UpdatedDateUTC")) >= floor]
    predicate = compile_where(call.arg("where"))
    if predicate is not None:
        rendered = [r for r in rendered if predicate(r)]
    return _order(rendered, call.arg("order"))


def _ms(value: Any) -> int:
    if isinstance(value, str) and value.startswith("/Date("):
        return int(value[6:].split("+")[0].split(")")[0].split("-")[0] or 0)
    return 0


def _order(rendered: list[dict[str, Any]], order: str | None) -> list[dict[str, Any]]:
    for clause in reversed(_csv(order)):
        parts = clause.split()
        field_name = parts[0]
        descending = len(parts) > 1 and parts[1].upper() == "DESC"
        if len(parts) > 2 or (len(parts) == 2 and parts[1].upper() not in ("ASC", "DESC")):
            raise QueryParseException(f"Invalid order clause '{clause}'")

        def key(r: dict[str, Any], f: str = field_name) -> tuple[int, Any]:
            value = r.get(f)
            if isinstance(value, str) and value.startswith("/Date("):
                value = _ms(value)
            if isinstance(value, str):
                value = value.lower()
            return (value is None, value if value is not None else 0)

        try:
            rendered = sorted(rendered, key=key, reverse=descending)
        except TypeError as exc:
            raise QueryParseException(f"Cannot order by '{field_name}'") from exc
    return rendered


def page_of(
    call: Call, rendered: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, int] | None]:
    """Xero pages only when `page` is given: 100 a page, `pageSize` up to 1000."""
    page_arg = call.arg("page")
    if page_arg is None:
        return rendered, None
    try:
        page = max(int(page_arg), 1)
        size = int(call.arg("pageSize") or DEFAULT_PAGE_SIZE)
    except ValueError:
        page, size = 1, DEFAULT_PAGE_SIZE
    size = min(max(size, 1), MAX_PAGE_SIZE)
    count = len(rendered)
    pagination = {
        "page": page,
        "pageSize": size,
        "pageCount": (count + size - 1) // size,
        "itemCount": count,
    }
    return rendered[(page - 1) * size : page * size], pagination


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


# --- batch writes ------------------------------------------------------------------------------


def batch_response(
    call: Call,
    collection: str,
    outcomes: list[Outcome],
    render_one: Callable[[dict[str, Any]], dict[str, Any]],
    error_flag: str,
) -> Response:
    """summarizeErrors=true (the API default): any failure -> 400 with the failing elements,
    the valid ones still committed. false: 200 with every element and its status
    (reference/xero.md §3.5)."""
    summarize = parse_bool(call.arg("summarizeErrors"), default=True)
    failed = [o for o in outcomes if not o.ok]
    if summarize and failed:
        elements = [_failed_element(o, error_flag) for o in failed]
        raise ValidationException(elements)
    items = []
    for outcome in outcomes:
        if outcome.ok and outcome.resource is not None:
            item = render_one(outcome.resource)
            if not summarize:
                item["StatusAttributeString"] = "OK"
            items.append(item)
        else:
            item = _failed_element(outcome, error_flag)
            item["StatusAttributeString"] = "ERROR"
            items.append(item)
    return envelope(call.backend, collection, items)


def _failed_element(outcome: Outcome, error_flag: str) -> dict[str, Any]:
    element = dict(outcome.echo)
    element[error_flag] = True
    element["ValidationErrors"] = [{"Message": m} for m in outcome.errors]
    return element


# --- Contacts ----------------------------------------------------------------------------------


def _contact_by_path(call: Call) -> dict[str, Any]:
    key = call.request.path_params["contact_id"]
    contact = call.books.contacts.get(key) or call.books.contacts.by_number(key)
    if contact is None:
        raise NotFound()
    return contact


@accounting
async def get_contacts(call: Call) -> Response:
    contacts = list(call.books.contacts.contacts.values())
    if not parse_bool(call.arg("includeArchived"), default=False):
        contacts = [c for c in contacts if c["ContactStatus"] != "ARCHIVED"]
    balances = call.books.all_balances()
    rendered = [call.books.render_contact(c, balances.get(c["ContactID"])) for c in contacts]
    term = (call.arg("searchTerm") or "").lower()
    if term:
        keys = ("Name", "FirstName", "LastName", "ContactNumber", "CompanyNumber", "EmailAddress")
        rendered = [r for r in rendered if any(term in str(r.get(k, "")).lower() for k in keys)]
    rendered = select(call, rendered, "ContactID")
    items, pagination = page_of(call, rendered)
    extra = {"pagination": pagination} if pagination else {}
    return envelope(call.backend, "Contacts", items, **extra)


@accounting
async def get_contact(call: Call) -> Response:
    return envelope(call.backend, "Contacts", [call.books.render_contact(_contact_by_path(call))])


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
    numbers = set(_csv(call.arg("InvoiceNumbers")))
    if numbers:
        invoices = [i for i in invoices if i.get("InvoiceNumber") in numbers]
    contact_ids = {c.lower() for c in _csv(call.arg("ContactIDs"))}
    if contact_ids:
        invoices = [i for i in invoices if i["_contact_id"] in contact_ids]
    statuses = {s.upper() for s in _csv(call.arg("Statuses"))}
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
        books.render_invoice(i, unitdp=unitdp, with_lines=paged and not summary_only)
        for i in invoices
    ]
    rendered = select(call, rendered, "InvoiceID")
    items, pagination = page_of(call, rendered)
    extra = {"pagination": pagination} if pagination else {}
    return envelope(call.backend, "Invoices", items, **extra)


@accounting
async def get_invoice(call: Call) -> Response:
    invoice = call.books.render_invoice(_invoice_by_path(call), unitdp=call.unitdp())
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
        lambda i: call.books.render_invoice(i, unitdp=unitdp),
        "HasErrors",
    )


# --- Credit notes and allocations ---------------------------------------------------------------


@accounting
async def get_credit_notes(call: Call) -> Response:
    books, unitdp = call.books, call.unitdp()
    rendered = [
        books.render_invoice(n, unitdp=unitdp) for n in books.credit_notes.invoices.values()
    ]
    rendered = select(call, rendered, "CreditNoteID")
    items, pagination = page_of(call, rendered)
    extra = {"pagination": pagination} if pagination else {}
    return envelope(call.backend, "CreditNotes", items, **extra)


@accounting
async def get_credit_note(call: Call) -> Response:
    note = call.books.render_invoice(_credit_note_by_path(call), unitdp=call.unitdp())
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


@accounting
async def put_allocations(call: Call) -> Response:
    note = _credit_note_by_path(call)
    elements = await read_json(call, "Allocations")
    if isinstance(elements, Response):
        return elements
    with call.backend.lock:
        outcomes = call.books.allocate(note, elements)
    return batch_response(call, "Allocations", outcomes, render, "HasValidationErrors")


@accounting
async def delete_allocation(call: Call) -> Response:
    note = _credit_note_by_path(call)
    with call.backend.lock:
        allocation = call.books.deallocate(note, call.request.path_params["allocation_id"])
    if allocation is None:
        raise NotFound()
    return json_response(allocation)


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


async def rate_limits_control(request: Request) -> Response:
    """Test hook: GET shows, POST {"enabled": bool} switches enforcement of Xero's limits."""
    backend: XeroBackend = request.app.state.emulator
    if request.method == "POST":
        try:
            body = json.loads(await request.body())
            enabled = body["enabled"]
            if not isinstance(enabled, bool):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": 'expected JSON {"enabled": true|false}'}, 400)
        backend.rate_limits_enabled = enabled
    return JSONResponse({"enabled": backend.rate_limits_enabled})


async def webhooks_control(request: Request) -> Response:
    """Test hook standing in for the developer portal's webhook settings: POST {"url", "key"?,
    "retry_delays"?, "seed"?} subscribes (running Intent to Receive), GET shows the
    subscription and its deliveries, DELETE removes it."""
    sender = request.app.state.emulator.webhooks
    if request.method == "DELETE":
        sender.clear()
        return Response(status_code=204)
    if request.method == "POST":
        try:
            body = json.loads(await request.body())
            url = body["url"]
            key = body.get("key")
            delays = tuple(float(d) for d in body.get("retry_delays", DEFAULT_RETRY_DELAYS))
            seed = body.get("seed")
            if not isinstance(url, str) or not (key is None or isinstance(key, str)):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": 'expected JSON {"url": "...", "key": "..."}'}, 400)
        origin = str(request.base_url).rstrip("/")
        await run_in_threadpool(sender.subscribe, url, key, origin, delays, seed)
    subscription = sender.subscription
    if subscription is None:
        return JSONResponse({"subscription": None})
    return JSONResponse(
        {
            "subscription": {
                "url": subscription.url,
                "key": subscription.key,
                "status": subscription.status,
                "intent_to_receive": subscription.itr,
                "deliveries": subscription.deliveries,
            }
        }
    )


def routes() -> list[Route]:
    return [
        Route("/_emulator/rate-limits", rate_limits_control, methods=["GET", "POST"]),
        Route("/_emulator/webhooks", webhooks_control, methods=["GET", "POST", "DELETE"]),
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
            f"{API}/CreditNotes/{{credit_note_id}}/Allocations", put_allocations, methods=["PUT"]
        ),
        Route(
            f"{API}/CreditNotes/{{credit_note_id}}/Allocations/{{allocation_id}}",
            delete_allocation,
            methods=["DELETE"],
        ),
        Route(f"{API}/Payments", get_payments, methods=["GET"]),
        Route(f"{API}/Payments", put_payments, methods=["PUT"]),
        Route(f"{API}/Payments", post_payments, methods=["POST"]),
        Route(f"{API}/Payments/{{payment_id}}", get_payment, methods=["GET"]),
        Route(f"{API}/Payments/{{payment_id}}", post_payment, methods=["POST"]),
    ]
