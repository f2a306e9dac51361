"""Entra ID tokens for the Dataverse Web API: client credentials through msal (an application
user), or a user's delegated tokens from the refresh token the portal got (RefreshedTokens).

msal is pointed at the tenant's authority (login.microsoftonline.com, or an emulator's origin)
with instance discovery off for anything that is not Microsoft's cloud, so it reads the
authority's own OpenID metadata. msal caches the token and renews it before it expires.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import msal
import requests

from d365xero.errors import AuthorisationLost, ConfigurationError, TransientError
from d365xero.reach import transport_failure

ENTRA = "https://login.microsoftonline.com"
EXPIRY_MARGIN = 120  # seconds: a delegated token is renewed this long before it expires

# What to do about Entra's refusals, by AADSTS code (learn.microsoft.com/entra/identity-platform/
# reference-error-codes). The description itself is kept whole, up to Entra's trace details.
_FIXES = {
    7000215: "check --dataverse-client-secret (or D365XERO_DATAVERSE_CLIENT_SECRET)",
    7000222: "the client secret has expired: make a new one in the app registration",
    700016: "check the client id, and that the app is registered or consented in tenant {tenant}",
    90002: "check --dataverse-tenant, or leave it out to use the one the organisation names",
    500011: "check --dataverse-url: tenant {tenant} has no such Dynamics organisation",
}


class _PinnedSession(requests.Session):
    """requests lets REQUESTS_CA_BUNDLE override Session.verify (psf/requests#3829), so the
    CAs we trust are passed on every request instead."""

    def __init__(self, verify: str | bool, timeout: float = 30.0) -> None:
        super().__init__()
        self._verify = verify
        self._timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("verify", self._verify)
        kwargs.setdefault("timeout", self._timeout)
        return super().request(method, url, *args, **kwargs)


class DataverseTokens:
    def __init__(
        self,
        *,
        org_url: str,
        tenant: str,
        client_id: str,
        client_secret: str,
        authority: str = ENTRA,
        ca_bundle: str | bool = True,
    ) -> None:
        self._org = org_url.rstrip("/")
        self._scope = [self._org + "/.default"]
        authority = authority.rstrip("/")
        self._tenant = tenant
        self._authority_url = f"{authority}/{tenant}"
        self._session = _PinnedSession(ca_bundle)

        def make_app() -> msal.ConfidentialClientApplication:
            return msal.ConfidentialClientApplication(
                client_id,
                client_credential=client_secret,
                authority=f"{authority}/{tenant}",
                instance_discovery=authority == ENTRA,
                http_client=self._session,
            )

        self._make_app: Callable[[], msal.ConfidentialClientApplication] = make_app
        self._app: msal.ConfidentialClientApplication | None = None
        self._lock = threading.Lock()

    def current(self) -> str:
        with self._lock:
            try:
                if self._app is None:
                    self._app = self._make_app()
                result = self._app.acquire_token_for_client(self._scope)
            except requests.RequestException as exc:  # msal's transport
                self._app = None
                raise transport_failure(exc, self._authority_url, "dataverse") from exc
            except ValueError as exc:  # msal could not read the authority's OpenID metadata
                self._app = None
                raise ConfigurationError(
                    f"Entra ID at {self._authority_url} gave no OpenID configuration for tenant "
                    f"{self._tenant!r}: check --dataverse-tenant (or leave it out, so the one the "
                    "organisation names is used) and --dataverse-authority"
                ) from exc
        if "access_token" not in result:
            raise AuthorisationLost(refusal(result, self._tenant, self._org), service="dataverse")
        return str(result["access_token"])

    def close(self) -> None:
        self._session.close()

    def invalidate(self) -> None:
        """Forget the cached token (after a 401), so the next call asks Entra ID afresh."""
        with self._lock:
            self._app = None


def refusal(result: dict[str, Any], tenant: str, org_url: str) -> str:
    """One line on why Entra ID gave no token: its own complete sentences, then what to do."""
    description = str(result.get("error_description") or result.get("error") or "no reason given")
    description = description.split(" Trace ID:")[0].strip()
    codes = result.get("error_codes") or []
    fix = _FIXES.get(int(codes[0]) if codes else 0, "check the app's client id and secret")
    return (
        f"Entra ID refused a token for {org_url} ({result.get('error')}: {description}): "
        + fix.format(tenant=tenant)
    )


def entra_token_url(authority: str, tenant: str) -> str:
    """Entra ID's v2.0 token endpoint of a tenant (learn.microsoft.com/entra/identity-platform/
    v2-oauth2-auth-code-flow: POST /{tenant}/oauth2/v2.0/token)."""
    return f"{authority.rstrip('/')}/{tenant}/oauth2/v2.0/token"


def delegated_scope(org_url: str) -> str:
    """What a user consents to for Dynamics: the organisation as them, and a refresh token."""
    return f"{org_url.rstrip('/')}/user_impersonation offline_access"


def entra_token_request(
    http: httpx.Client, token_url: str, client: tuple[str, str], form: dict[str, str], org: str
) -> dict[str, Any]:
    """One call of Entra's token endpoint (code exchange or refresh) and its JSON body;
    refusals are AuthorisationLost (the user must connect Dynamics again)."""
    data = {"client_id": client[0], "client_secret": client[1], **form}
    try:
        response = http.post(token_url, data=data, headers={"Accept": "application/json"})
    except httpx.TransportError as exc:
        raise transport_failure(exc, token_url, "dataverse") from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise TransientError(
            f"Entra ID's token endpoint {token_url} answered HTTP {response.status_code}",
            status=response.status_code,
            service="dataverse",
        )
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or "access_token" not in body:
        result = body if isinstance(body, dict) else {"error": f"HTTP {response.status_code}"}
        raise AuthorisationLost(
            refusal(result, token_url, org).replace(
                "check the app's client id and secret", "connect Dynamics again from the portal"
            ),
            status=response.status_code,
            service="dataverse",
        )
    return body


class RefreshedTokens:
    """A user's delegated Dataverse tokens (the portal's Connect to Dynamics), from their
    refresh token: `load` reads the one kept now, `keep` is given each new one Entra issues
    (Entra may return a new refresh token on each use; the newest is the one to keep)."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        org_url: str,
        token_url: str,
        client_id: str,
        client_secret: str,
        load: Callable[[], str],
        keep: Callable[[str], None],
    ) -> None:
        self._http = http
        self._org = org_url.rstrip("/")
        self._token_url = token_url
        self._client = (client_id, client_secret)
        self._load, self._keep = load, keep
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()

    def current(self) -> str:
        with self._lock:
            if self._token is None or time.time() >= self._token[1] - EXPIRY_MARGIN:
                body = entra_token_request(
                    self._http,
                    self._token_url,
                    self._client,
                    {
                        "grant_type": "refresh_token",
                        "refresh_token": self._load(),
                        "scope": delegated_scope(self._org),
                    },
                    self._org,
                )
                if body.get("refresh_token"):
                    self._keep(str(body["refresh_token"]))
                expires = time.time() + float(body.get("expires_in", 3599))
                self._token = (str(body["access_token"]), expires)
            return self._token[0]

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def close(self) -> None:
        """The HTTP client is the connection's, closed with it."""
