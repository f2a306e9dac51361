"""The portal's two OAuth 2.0 authorization-code flows with PKCE (RFC 7636, S256): Xero's
identity server (developer.xero.com/documentation/guides/oauth2/auth-flow) and Entra ID's v2.0
endpoint in front of Dynamics (learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-
flow). What each authorize URL asks, the code exchange, and what the tokens reach.

The portal's registered apps are the settings' client ids and secrets (D365XERO_XERO_CLIENT_ID,
_SECRET; D365XERO_DATAVERSE_CLIENT_ID, _SECRET). Tokens pass through here, never into a log.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import httpx

from d365xero.config import Settings
from d365xero.dataverse.auth import ENTRA, delegated_scope, entra_token_request, entra_token_url
from d365xero.dataverse.discovery import discover
from d365xero.errors import ConfigurationError, RemoteError
from d365xero.reach import transport_failure
from d365xero.trust import extra_cas, ssl_context
from d365xero.urls import organisation_url
from d365xero.xero.endpoints import XeroEndpoints
from d365xero.xero.tokens import token_request

# What the connector's passes call, and no more (Xero's granular scopes of March 2026,
# developer.xero.com/faq/granular-scopes): Invoices, CreditNotes and Items (accounting.invoices);
# Contacts, read and created (accounting.contacts); Organisation, Currencies, TaxRates, Accounts,
# BrandingThemes and TrackingCategories, read only (accounting.settings.read); and a refresh
# token to sync while nobody is signed in (offline_access).
XERO_SCOPES = (
    "offline_access",
    "accounting.invoices",
    "accounting.contacts",
    "accounting.settings.read",
)
TIMEOUT = 30.0


def pkce_pair() -> tuple[str, str]:
    """A code verifier (43 characters of RFC 7636's alphabet) and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)[:64]
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def http_client(settings: Settings) -> httpx.Client:
    return httpx.Client(verify=ssl_context(extra_cas(settings)), timeout=TIMEOUT)


def _app(client_id: str | None, secret: Any, what: str, env: str) -> tuple[str, str]:
    value = secret.get_secret_value() if secret is not None else ""
    if not client_id or not value:
        raise ConfigurationError(
            f"the portal has no {what} app: set D365XERO_{env}_CLIENT_ID and "
            f"D365XERO_{env}_CLIENT_SECRET (the app registered with its redirect URI)"
        )
    return client_id, value


def xero_app(settings: Settings) -> tuple[str, str]:
    return _app(settings.xero_client_id, settings.xero_client_secret, "Xero", "XERO")


def entra_app(settings: Settings) -> tuple[str, str]:
    return _app(
        settings.dataverse_client_id, settings.dataverse_client_secret, "Dynamics", "DATAVERSE"
    )


def form_targets(settings: Settings) -> tuple[str, ...]:
    """The identity origins a portal form's POST is redirected to (CSP form-action)."""
    xero = XeroEndpoints(settings.xero_url)
    return tuple(sorted({_origin(xero.login), _origin(xero.identity), ENTRA}))


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/')[0]}"


# --- Xero ---------------------------------------------------------------------------------------


def xero_authorize_url(settings: Settings, redirect_uri: str, state: str, challenge: str) -> str:
    client_id, _ = xero_app(settings)
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(XERO_SCOPES),
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return f"{XeroEndpoints(settings.xero_url).login}?{urlencode(query)}"


@dataclass(frozen=True)
class XeroTenant:
    connection_id: str  # Xero's id of the app's connection to it (DELETE /Connections/{id})
    tenant_id: str
    name: str
    updated: str


def xero_exchange(
    settings: Settings, http: httpx.Client, code: str, redirect_uri: str, verifier: str
) -> tuple[dict[str, Any], list[XeroTenant]]:
    """The token set for a code, and the organisations the grant reaches: the ones picked on
    the consent page are the most recently updated connections (Xero updates a connection's
    date when it is authorised again)."""
    endpoints = XeroEndpoints(settings.xero_url)
    body = token_request(
        http,
        endpoints.token_url,
        xero_app(settings),
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
    )
    if not body.get("refresh_token"):
        raise ConfigurationError("Xero gave no refresh token (was offline_access refused?)")
    return body, xero_tenants(http, endpoints, str(body["access_token"]))


def xero_tenants(
    http: httpx.Client, endpoints: XeroEndpoints, access_token: str
) -> list[XeroTenant]:
    url = f"{endpoints.connections}/Connections"
    try:
        response = http.get(url, headers=_bearer(access_token))
    except httpx.TransportError as exc:
        raise transport_failure(exc, url, "xero") from exc
    if response.status_code != 200:
        raise RemoteError(f"Xero's {url} answered HTTP {response.status_code}", service="xero")
    found = [
        XeroTenant(
            str(c["id"]),
            str(c["tenantId"]),
            str(c.get("tenantName") or ""),
            str(c.get("updatedDateUtc") or ""),
        )
        for c in response.json()
        if c.get("tenantType", "ORGANISATION") == "ORGANISATION"
    ]
    newest = max((t.updated for t in found), default="")
    return [t for t in found if t.updated == newest] or found


def xero_disconnect(
    settings: Settings,
    http: httpx.Client,
    refresh_token: str,
    connection_id: str | None,
    *,
    revoke: bool = True,
) -> None:
    """Removes the app's connection to the organisation (DELETE /Connections/{id}) and, with
    `revoke`, revokes the refresh token (POST /connect/revocation, RFC 7009), which ends every
    connection that Xero user gave the app. A token Xero no longer honours means it is
    disconnected already."""
    endpoints = XeroEndpoints(settings.xero_url)
    client = xero_app(settings)
    try:
        body = token_request(
            http,
            endpoints.token_url,
            client,
            {"grant_type": "refresh_token", "refresh_token": refresh_token},
        )
    except RemoteError:
        return
    try:
        if connection_id:
            http.delete(
                f"{endpoints.connections}/Connections/{connection_id}",
                headers=_bearer(str(body["access_token"])),
            )
        if not revoke:
            return
        http.post(
            endpoints.revocation_url,
            data={"token": str(body.get("refresh_token") or refresh_token)},
            auth=client,
        )
    except httpx.TransportError as exc:
        raise transport_failure(exc, endpoints.revocation_url, "xero") from exc


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


# --- Entra ID (Dynamics online) -----------------------------------------------------------------


@dataclass(frozen=True)
class EntraTarget:
    org_url: str
    authority: str
    tenant: str


def entra_target(settings: Settings, http: httpx.Client, typed_url: str) -> EntraTarget:
    """The organisation URL in its stored form and the Entra tenant its challenge names."""
    org_url = organisation_url(typed_url)
    challenge = discover(http, org_url)
    return EntraTarget(org_url, challenge.authority, challenge.tenant)


def entra_authorize_url(
    settings: Settings, target: EntraTarget, redirect_uri: str, state: str, challenge: str
) -> str:
    client_id, _ = entra_app(settings)
    query = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "response_mode": "query",
        "scope": delegated_scope(target.org_url),
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "prompt": "select_account",
    }
    return f"{target.authority}/{target.tenant}/oauth2/v2.0/authorize?{urlencode(query)}"


def entra_exchange(
    settings: Settings,
    http: httpx.Client,
    target: EntraTarget,
    code: str,
    redirect_uri: str,
    verifier: str,
) -> tuple[str, str]:
    """The refresh token, and the organisation the user picked on the consent page (the
    resource the granted scope names; the one asked for if it names none)."""
    body = entra_token_request(
        http,
        entra_token_url(target.authority, target.tenant),
        entra_app(settings),
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
            "scope": delegated_scope(target.org_url),
        },
        target.org_url,
    )
    if not body.get("refresh_token"):
        raise ConfigurationError("Entra ID gave no refresh token (was offline_access refused?)")
    return str(body["refresh_token"]), granted_organisation(
        str(body.get("scope", "")), target.org_url
    )


def granted_organisation(scope: str, asked: str) -> str:
    for item in scope.split():
        resource = item.rpartition("/")[0]
        if "://" in resource:
            return organisation_url(resource)
    return asked


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")
