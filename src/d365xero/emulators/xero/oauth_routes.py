"""The HTTP shape of Xero's identity service: the consent page (login.xero.com's
/identity/connect/authorize), /connect/token, /connect/revocation and /Connections
(reference/xero.md §1; xero-identity.yaml)."""

from __future__ import annotations

import base64
from datetime import datetime
from html import escape
from urllib.parse import parse_qs, unquote, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from d365xero.emulators.xero.errors import OAuthError, XeroError
from d365xero.emulators.xero.identity import User
from d365xero.emulators.xero.models import XeroBackend
from d365xero.emulators.xero.plumbing import NOT_FOUND_TEXT, error_response

OAUTH_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)


def _basic_auth(header: str | None) -> tuple[str | None, str | None]:
    if not header or not header.lower().startswith("basic "):
        return None, None
    try:
        decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None, None
    client_id, _, secret = decoded.partition(":")
    return unquote(client_id), unquote(secret)


async def _form(request: Request) -> dict[str, list[str]]:
    raw = (await request.body()).decode("utf-8", errors="replace")
    return parse_qs(raw, keep_blank_values=True)


def _client(request: Request, form: dict[str, str]) -> tuple[str | None, str | None]:
    """Client authentication by form body (what xero-python sends) or HTTP Basic."""
    client_id, secret = _basic_auth(request.headers.get("authorization"))
    return form.get("client_id") or client_id, form.get("client_secret") or secret


def _issuer(request: Request) -> str:
    return str(request.base_url).rstrip("/")


async def token_endpoint(request: Request) -> Response:
    backend: XeroBackend = request.app.state.emulator
    form = {k: v[0] for k, v in (await _form(request)).items()}
    client_id, secret = _client(request, form)
    grant = form.get("grant_type")
    identity = backend.identity
    try:
        with backend.lock:
            if grant == "client_credentials":
                body = identity.client_credentials(client_id, secret, form.get("scope"))
            elif grant == "authorization_code":
                body = identity.exchange_code(
                    form.get("code"),
                    form.get("redirect_uri"),
                    client_id,
                    secret,
                    form.get("code_verifier"),
                    _issuer(request),
                )
            elif grant == "refresh_token":
                body = identity.refresh(
                    form.get("refresh_token"), client_id, secret, _issuer(request)
                )
            elif not grant:
                raise OAuthError("invalid_request")
            else:
                raise OAuthError("unsupported_grant_type")
    except OAuthError as exc:
        return error_response(exc)
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


async def revocation(request: Request) -> Response:
    backend: XeroBackend = request.app.state.emulator
    form = {k: v[0] for k, v in (await _form(request)).items()}
    client_id, secret = _client(request, form)
    try:
        with backend.lock:
            backend.identity.revoke(form.get("token"), client_id, secret)
    except OAuthError as exc:
        return error_response(exc)
    return Response(status_code=200)


# --- consent page ------------------------------------------------------------------------------


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:28rem;margin:3rem auto}"
        "label{display:block;margin:.6rem 0}.error{color:#b00}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(html, status_code=status)


def _redirect(redirect_uri: str, **params: str) -> RedirectResponse:
    joiner = "&" if "?" in redirect_uri else "?"
    query = urlencode({k: v for k, v in params.items() if v})
    return RedirectResponse(f"{redirect_uri}{joiner}{query}", status_code=302)


def _check_request(backend: XeroBackend, params: dict[str, str]) -> Response | None:
    """Errors about the client or redirect URI are shown, never redirected (RFC 6749 §4.1.2.1);
    the rest go back to the client as `error=`."""
    identity = backend.identity
    if params.get("client_id") != identity.app.client_id:
        return _page("Error", "<p class='error'>unauthorized_client: Unknown client</p>", 400)
    redirect_uri = params.get("redirect_uri", "")
    if not identity.redirect_ok(redirect_uri):
        return _page("Error", "<p class='error'>Invalid redirect_uri</p>", 400)
    state = params.get("state", "")
    if params.get("response_type") != "code":
        return _redirect(redirect_uri, error="unsupported_response_type", state=state)
    try:
        identity.requested_scopes(params.get("scope"), user=True)
    except OAuthError:
        return _redirect(redirect_uri, error="invalid_scope", state=state)
    challenge = params.get("code_challenge")
    if challenge and params.get("code_challenge_method", "plain") != "S256":
        return _redirect(redirect_uri, error="invalid_request", state=state)
    return None


def _consent_form(backend: XeroBackend, params: dict[str, str], message: str = "") -> HTMLResponse:
    hidden = "".join(
        f"<input type='hidden' name='{k}' value='{escape(params[k])}'>"
        for k in OAUTH_PARAMS
        if k in params
    )
    organisations = "".join(
        f"<label><input type='checkbox' name='tenant' value='{tenant_id}'> "
        f"{escape(books.organisation['Name'])}</label>"
        for tenant_id, books in backend.orgs.items()
    )
    error = f"<p class='error' role='alert'>{escape(message)}</p>" if message else ""
    scopes = escape(params.get("scope", ""))
    body = (
        f"<p>{escape(backend.app.name)} wants to access your Xero data ({scopes}).</p>{error}"
        "<form method='post' action='/identity/connect/authorize'>"
        f"{hidden}"
        "<label>Email address <input type='email' name='email' autocomplete='username'></label>"
        "<label>Password <input type='password' name='password'></label>"
        f"<fieldset><legend>Organisations</legend>{organisations}</fieldset>"
        "<button type='submit' name='action' value='allow'>Allow access</button> "
        "<button type='submit' name='action' value='deny'>Cancel</button>"
        "</form>"
    )
    return _page("Log in to Xero", body)


async def authorize(request: Request) -> Response:
    backend: XeroBackend = request.app.state.emulator
    if request.method == "GET":
        params = dict(request.query_params)
    else:
        form = await _form(request)
        params = {k: v[0] for k, v in form.items()}
    problem = _check_request(backend, params)
    if problem is not None:
        return problem
    if request.method == "GET":
        return _consent_form(backend, params)
    redirect_uri, state = params["redirect_uri"], params.get("state", "")
    if params.get("action") == "deny":
        return _redirect(redirect_uri, error="access_denied", state=state)
    with backend.lock:
        user = backend.identity.login(params.get("email", ""), params.get("password", ""))
        if user is None:
            return _consent_form(backend, params, "Your email or password is incorrect")
        tenants = _chosen_tenants(user, form.get("tenant", []))
        if not tenants:
            return _consent_form(backend, params, "Select at least one organisation")
        scopes = backend.identity.requested_scopes(params.get("scope"), user=True)
        code = backend.identity.authorise(
            user,
            tenants,
            redirect_uri,
            scopes,
            params.get("code_challenge") or None,
            backend.now(),
        )
    return _redirect(redirect_uri, code=code, scope=" ".join(sorted(scopes)), state=state)


def _chosen_tenants(user: User, chosen: list[str]) -> list[str]:
    return [t for t in chosen if t in user.tenant_ids]


# --- /Connections -----------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    """Xero's format here: 7 fractional digits and no offset (xero-identity.yaml example)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"


async def connections(request: Request) -> Response:
    backend: XeroBackend = request.app.state.emulator
    try:
        token = backend.token(request.headers.get("authorization"))
        # Tenantless: only the app-wide limit applies and is reported.
        limits = backend.limiter.acquire(None)
    except XeroError as exc:
        return error_response(exc)
    auth_event = request.query_params.get("authEventId")
    result = []
    for c in backend.connections_for(token):
        if auth_event and auth_event.lower() != c.auth_event_id:
            continue
        result.append(
            {
                "id": c.id,
                "authEventId": c.auth_event_id,
                "tenantId": c.tenant_id,
                "tenantType": "ORGANISATION",
                "tenantName": backend.orgs[c.tenant_id].organisation["Name"],
                "createdDateUtc": _iso(c.created),
                "updatedDateUtc": _iso(c.updated),
            }
        )
    return JSONResponse(result, headers=limits)


async def delete_connection(request: Request) -> Response:
    backend: XeroBackend = request.app.state.emulator
    try:
        token = backend.token(request.headers.get("authorization"))
    except XeroError as exc:
        return error_response(exc)
    with backend.lock:
        removed = backend.identity.disconnect(token, request.path_params["id"])
    if removed:
        return Response(status_code=204)
    return Response(NOT_FOUND_TEXT, status_code=404, media_type="text/plain")


async def openid_configuration(request: Request) -> Response:
    """The discovery document (identity.xero.com/.well-known/openid-configuration), pointing
    at this emulator's endpoints, for OAuth libraries that read it."""
    backend: XeroBackend = request.app.state.emulator
    origin = _issuer(request)
    scopes = sorted(backend.identity.app.scopes | {"openid", "profile", "email", "offline_access"})
    return JSONResponse(
        {
            "issuer": origin,
            "authorization_endpoint": f"{origin}/identity/connect/authorize",
            "token_endpoint": f"{origin}/connect/token",
            "revocation_endpoint": f"{origin}/connect/revocation",
            "scopes_supported": scopes,
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "id_token_signing_alg_values_supported": ["HS256"],
            "subject_types_supported": ["public"],
        }
    )


def oauth_routes() -> list[Route]:
    return [
        Route("/.well-known/openid-configuration", openid_configuration, methods=["GET"]),
        Route("/identity/connect/authorize", authorize, methods=["GET", "POST"]),
        Route("/connect/token", token_endpoint, methods=["POST"]),
        Route("/connect/revocation", revocation, methods=["POST"]),
        Route("/Connections", connections, methods=["GET"]),
        Route("/Connections/{id}", delete_connection, methods=["DELETE"]),
    ]
