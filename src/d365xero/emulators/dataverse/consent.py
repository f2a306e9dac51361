"""Entra's sign-in and consent page for the authorization code flow with PKCE
(`GET/POST /{tenant}/oauth2/v2.0/authorize`), for the portal's "Connect to Dynamics".

The user signs in, sees what the app asks for, picks the organisation and accepts (redirect with
`code`, `state`, `session_state`) or cancels (redirect with `error=access_denied`, AADSTS65004).
A wrong password stays on the page (AADSTS50126). Source: learn.microsoft.com/entra/
identity-platform/v2-oauth2-auth-code-flow (request and response parameters, errors).
"""

from __future__ import annotations

import uuid
from html import escape
from urllib.parse import parse_qs, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from d365xero.emulators.dataverse.entra import (
    Entra,
    EntraError,
    check_authorize,
    issue_code,
    resource_of,
)
from d365xero.emulators.dataverse.models import ORG_NAME, Organisation

PASSED = (
    "client_id",
    "response_type",
    "redirect_uri",
    "response_mode",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "prompt",
    "login_hint",
    "client_info",
)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to your account</title></head>
<body>
<main>
<h1>Sign in</h1>
<p><strong>{app}</strong> wants to access Dynamics 365 on your behalf.</p>
{error}
<form method="post">
{hidden}
<label>Email, phone, or Skype <input name="username" type="email" value="{username}"
  autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<label>Organisation <select name="organisation">{organisations}</select></label>
<p>It will be able to access Dynamics 365 as you (user_impersonation).</p>
<button name="consent" value="accept" type="submit">Accept</button>
<button name="consent" value="cancel" type="submit">Cancel</button>
</form>
</main>
</body></html>
"""


def _organisations(entra: Entra, org_url: str) -> dict[str, str]:
    return {org_url: entra.organisations.get(org_url, ORG_NAME), **entra.organisations}


def _page(
    entra: Entra, params: dict[str, str], org_url: str, error: str = "", username: str = ""
) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{k}" value="{escape(v)}">' for k, v in params.items()
    )
    asked = resource_of(entra, params.get("scope", ""), org_url)
    option = "".join(
        f'<option value="{escape(url)}"{" selected" if url == asked else ""}>'
        f"{escape(name)} ({escape(url)})</option>"
        for url, name in _organisations(entra, org_url).items()
    )
    return _PAGE.format(
        app=escape(params.get("client_id", "")),
        error=f'<p role="alert">{escape(error)}</p>' if error else "",
        hidden=hidden,
        username=escape(username or params.get("login_hint", "")),
        organisations=option,
    )


def _error_page(err: EntraError) -> HTMLResponse:
    text = f"AADSTS{err.code}: {err.description}"
    return HTMLResponse(
        f"<!doctype html><title>Sign in to your account</title><h1>Sorry, but we're having "
        f"trouble signing you in.</h1><p>{escape(text)}</p>",
        status_code=err.status,
    )


def _origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def _redirect(params: dict[str, str], values: dict[str, str]) -> Response:
    """Back to the app: a 302 with the answer in the query, or with response_mode=form_post a
    page that posts it (what msal recommends)."""
    if params.get("state") is not None:
        values["state"] = params["state"]
    if params.get("response_mode") == "form_post":
        inputs = "".join(
            f'<input type="hidden" name="{k}" value="{escape(v)}">' for k, v in values.items()
        )
        return HTMLResponse(
            "<!doctype html><html><head><title>Working...</title></head>"
            '<body onload="document.forms[0].submit()">'
            f'<form method="POST" action="{escape(params["redirect_uri"])}">{inputs}'
            "<noscript><button>Continue</button></noscript></form></body></html>"
        )
    separator = "&" if "?" in params["redirect_uri"] else "?"
    return RedirectResponse(params["redirect_uri"] + separator + urlencode(values), 302)


def consent_routes(org: Organisation) -> list[Route]:
    entra = org.entra

    async def authorize(request: Request) -> Response:
        entra.register_organisation(_origin(request), org.name)
        tenant = request.path_params["tenant"]
        if request.method == "GET":
            params = dict(request.query_params)
        else:
            raw = (await request.body()).decode("utf-8", "replace")
            params = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        form = {k: params.pop(k, "") for k in ("username", "password", "organisation", "consent")}
        params = {k: v for k, v in params.items() if k in PASSED}
        try:
            check_authorize(entra, tenant, params, _origin(request))
        except EntraError as err:
            return _error_page(err)
        if request.method == "GET":
            return HTMLResponse(_page(entra, params, _origin(request)))
        if form["consent"] != "accept":
            return _redirect(
                params,
                {
                    "error": "access_denied",
                    "error_description": "AADSTS65004: User declined to consent to access the app.",
                },
            )
        user = entra.users.get(form["username"].lower())
        if user is None or user.password != form["password"]:
            message = (
                "AADSTS50126: Error validating credentials due to invalid username or password."
            )
            return HTMLResponse(_page(entra, params, _origin(request), message, form["username"]))
        organisation = form["organisation"].rstrip("/")
        if organisation not in _organisations(entra, _origin(request)):
            return HTMLResponse(
                _page(entra, params, _origin(request), "Pick an organisation.", user.username)
            )
        code = issue_code(entra, params, user, _origin(request), organisation)
        return _redirect(params, {"code": code, "session_state": str(uuid.uuid4())})

    return [Route("/{tenant}/oauth2/v2.0/authorize", authorize, methods=["GET", "POST"])]
