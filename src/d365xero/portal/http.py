"""Reading a portal request: its runtime, its store session, its form, whether it came over
TLS and whether HTMX sent it. Routes are synchronous (the thread pool runs them); only reading
the body is async, here."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from sqlalchemy.orm import Session

from d365xero.jobs.runtime import Runtime
from d365xero.store.secrets import SecretBox

# One field can be long (a description); more than this a browser of ours never sends.
MAX_FIELD = 10_000
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def runtime(request: Request) -> Runtime:
    found: Runtime = request.app.state.runtime
    return found


def app_box(request: Request) -> SecretBox:
    return runtime(request).box


def db(request: Request) -> Iterator[Session]:
    """The request's store session: committed when the route returns, rolled back if it
    raises. Routes take it with `Depends(db, scope="function")`: committed before the
    response is sent, so the page a redirect leads to reads what the form wrote (the default
    scope commits after the response has gone)."""
    with runtime(request).sessions.begin() as session:
        yield session


async def form_fields(request: Request) -> dict[str, str]:
    """The submitted form as plain text, one value a field (the last one), surrounding spaces
    trimmed. Starlette caches the parsed form, so the CSRF check and the route read it once."""
    form = await request.form()
    fields: dict[str, str] = {}
    for name, value in form.multi_items():
        if isinstance(value, str):
            fields[name] = value.strip()[:MAX_FIELD]
    return fields


async def form_or_none(request: Request) -> dict[str, str] | None:
    """The form, if the body is one (the CSRF check must not choke on JSON or nothing)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in FORM_TYPES:
        return None
    return await form_fields(request)


def secure_request(request: Request) -> bool:
    """Over TLS (directly, or behind a proxy uvicorn trusts for X-Forwarded-Proto)."""
    return request.url.scheme == "https"


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"
