"""The HTTP plumbing every Xero Accounting route shares: Xero's envelope and error bodies,
bearer token -> tenant -> scope -> rate limit checks, Idempotency-Key replay, request bodies,
list filters and paging, and batch answers (reference/xero.md §3, §5)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from d365xero.emulators.xero.books import Books, Outcome
from d365xero.emulators.xero.errors import (
    Forbidden,
    NotFound,
    OAuthError,
    QueryParseException,
    RateLimited,
    Unauthorized,
    ValidationException,
    XeroError,
)
from d365xero.emulators.xero.faults import SLOW_SECONDS
from d365xero.emulators.xero.identity import AccessToken
from d365xero.emulators.xero.models import IDEMPOTENCY_KEY_MAX, XeroBackend, fingerprint
from d365xero.emulators.xero.scopes import allowed, resource_of
from d365xero.emulators.xero.where import compile_where
from d365xero.emulators.xero.wire import ms_date, parse_bool, parse_datetime, render

API = "/api.xro/2.0"
MAX_BODY = 3_500_000  # Xero's 3.5 MB request limit (developer.xero.com, xero-api-limits)
NOT_FOUND_TEXT = "The resource you're looking for cannot be found"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
JSON_TYPE = "application/json; charset=utf-8"

Found = TypeVar("Found")


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


def found(resource: Found | None) -> Found:
    """The resource a path names, or Xero's 404."""
    if resource is None:
        raise NotFound()
    return resource


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
            if slow := request.scope.get(SLOW_SECONDS):  # an injected slow fault: in progress
                await asyncio.sleep(slow)
            # Read the body first (Starlette caches it), then run the handler under the
            # backend's lock, so readers and writers on other threads never interleave.
            await request.body()
            key = request.headers.get("idempotency-key")
            with backend.lock:
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


def csv_values(value: str | None) -> list[str]:
    """`IDs=a,b` style query values (explode: false in the spec)."""
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
    ids = {i.lower() for i in csv_values(call.arg("IDs"))}
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
    for clause in reversed(csv_values(order)):
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


def paged_envelope(call: Call, name: str, rendered: list[dict[str, Any]]) -> Response:
    """The envelope of one page and its `pagination` when `page` is given, else of them all."""
    items, pagination = _page_of(call, rendered)
    extra = {"pagination": pagination} if pagination else {}
    return envelope(call.backend, name, items, **extra)


def _page_of(
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
