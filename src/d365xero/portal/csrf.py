"""CSRF tokens for every portal form: a random cookie per browser (HttpOnly, SameSite=Lax) and,
in each form, an HMAC of it under a key derived from the installation's secret key. A site that
cannot read the cookie cannot make the token, and the token alone is useless without the
cookie. Checked on every unsafe request to a portal route (`require`); HTMX requests send it as
the X-CSRF-Token header (base.html sets hx-headers)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from fastapi import Depends, HTTPException, Request, Response

from d365xero.portal.http import app_box, form_or_none, secure_request

COOKIE = "d365xero_csrf"
FIELD = "csrf_token"
HEADER = "x-csrf-token"
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def _sign(request: Request, value: str) -> str:
    key = app_box(request).subkey("portal-csrf")
    digest = hmac.new(key, value.encode("ascii", "replace"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _cookie(request: Request) -> str:
    """The browser's CSRF cookie, or a new one (set on the response by `keep_cookie`)."""
    value = getattr(request.state, "csrf_cookie", None)
    if value is None:
        value = request.cookies.get(COOKIE) or ""
        if not 20 <= len(value) <= 100:
            value = secrets.token_urlsafe(32)
            request.state.csrf_new = True
        request.state.csrf_cookie = value
    return str(value)


def token_for(request: Request) -> str:
    return _sign(request, _cookie(request))


def keep_cookie(request: Request, response: Response) -> None:
    """Set the cookie on the response if this request made it."""
    if getattr(request.state, "csrf_new", False):
        response.set_cookie(
            COOKIE,
            request.state.csrf_cookie,
            httponly=True,
            samesite="lax",
            secure=secure_request(request),
            path="/",
        )


class CsrfRefused(HTTPException):
    def __init__(self) -> None:
        super().__init__(
            403,
            "This form has expired or did not come from this site: reload the page and try again.",
        )


async def require(request: Request, form: dict[str, str] | None = Depends(form_or_none)) -> None:
    """A router dependency: unsafe methods need a token made for this browser's cookie."""
    if request.method in SAFE:
        return
    cookie = request.cookies.get(COOKIE)
    sent = request.headers.get(HEADER) or (form or {}).get(FIELD)
    if not cookie or not sent or not hmac.compare_digest(_sign(request, cookie), sent):
        raise CsrfRefused()
