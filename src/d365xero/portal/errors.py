"""How the app answers what went wrong: a page for people (the message and a way back), JSON for
programs; a sign-in redirect for pages that need a user; 400 with the reasons for a request the
routes cannot read; and, for a bug, a 500 page that says nothing of the cause (it is logged)."""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from d365xero.portal.auth import SignInRequired
from d365xero.portal.http import is_htmx

log = structlog.get_logger(__name__)
TITLES = {400: "Bad request", 403: "Not allowed", 404: "Not found", 405: "Not allowed"}


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "") or is_htmx(request)


def error_response(request: Request, status: int, message: str) -> Response:
    if not _wants_html(request):
        return JSONResponse({"detail": message}, status_code=status)
    from d365xero.portal.web import render

    title = TITLES.get(status, "Something went wrong" if status >= 500 else "Cannot do that")
    return render(request, "error.html", {"title": title, "message": message}, status=status)


def _reasons(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(x) for x in error.get("loc", ()) if x not in ("body", "query", "path"))
        parts.append(f"{where or 'request'}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)


def install(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    def _sign_in(request: Request, exc: SignInRequired) -> Response:
        if is_htmx(request):
            return Response(status_code=200, headers={"HX-Redirect": exc.login_url()})
        return RedirectResponse(exc.login_url(), status_code=303)

    @app.exception_handler(HTTPException)
    def _http(request: Request, exc: HTTPException) -> Response:
        response = error_response(request, exc.status_code, str(exc.detail))
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(RequestValidationError)
    def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return error_response(request, 400, f"The request is not valid: {_reasons(exc)}.")

    @app.exception_handler(Exception)
    def _bug(request: Request, exc: Exception) -> Response:
        log.error("portal.unhandled", path=request.url.path, error=type(exc).__name__)
        return error_response(request, 500, "Something went wrong on our side; it is logged.")
