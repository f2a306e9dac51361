"""The portal's pages: the templates, and `render`, which gives each page the signed-in user
and the CSRF token its forms need."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from d365xero.portal import csrf
from d365xero.portal.tabs import connection_tabs

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
STATIC = HERE / "static"
templates.env.globals["connection_tabs"] = connection_tabs


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
) -> HTMLResponse:
    """A page. Every template gets `user` (None when signed out), `csrf_token`, `form` (what
    was typed, to keep on an error) and `errors` (field name to message)."""
    base = {
        "user": getattr(request.state, "user", None),
        "csrf_token": csrf.token_for(request),
        "form": {},
        "errors": {},
    }
    base.update(context or {})
    response = templates.TemplateResponse(request, template, base, status_code=status)
    csrf.keep_cookie(request, response)
    return response


def redirect(url: str, *, status: int = 303) -> RedirectResponse:
    """After a form: 303 See Other, so a reload does not post it again."""
    return RedirectResponse(url, status_code=status)
