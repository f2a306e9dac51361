"""Xero access tokens for one connection: client credentials (custom connections), or the
refresh-token grant of a connection a user authorised in the portal (authorization code).

Xero rotates the refresh token on every use (the new one must be kept, the old one stops
working 30 minutes later: developer.xero.com/documentation/guides/oauth2/auth-flow, "Refreshing
access tokens"), so the refresh-token source reads the latest one from where it is kept before
each refresh and hands the new one back at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from d365xero.errors import AuthorisationLost, TransientError
from d365xero.reach import transport_failure

EXPIRY_MARGIN = 120  # seconds: refresh well before Xero's 30-minute expiry


@dataclass(frozen=True)
class AccessToken:
    value: str
    expires_at: float
    scope: str

    def fresh(self, now: float) -> bool:
        return now < self.expires_at - EXPIRY_MARGIN


class ClientCredentialsTokens:
    def __init__(self, http: httpx.Client, token_url: str, client_id: str, client_secret: str):
        self._http = http
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._token: AccessToken | None = None
        self._lock = threading.Lock()

    def current(self) -> AccessToken:
        with self._lock:
            if self._token is None or not self._token.fresh(time.time()):
                self._token = self._fetch()
            return self._token

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def _fetch(self) -> AccessToken:
        try:
            response = self._http.post(
                self._token_url,
                data={"grant_type": "client_credentials"},
                auth=(self._client_id, self._client_secret),
                headers={"Accept": "application/json"},
            )
        except httpx.TransportError as exc:
            raise transport_failure(exc, self._token_url, "xero") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise TransientError(
                f"Xero's token endpoint {self._token_url} answered HTTP {response.status_code}",
                status=response.status_code,
                service="xero",
            )
        body = _json(response)
        if response.status_code != 200 or body is None or "access_token" not in body:
            raise AuthorisationLost(
                _refusal(response, body, self._token_url),
                status=response.status_code,
                service="xero",
            )
        return AccessToken(
            value=body["access_token"],
            expires_at=time.time() + float(body.get("expires_in", 1800)),
            scope=str(body.get("scope", "")),
        )


class RefreshTokens:
    """Access tokens from a refresh token: `load` gives the refresh token kept now (the store's,
    which another process may have rotated), `keep` is handed each rotated one before the new
    access token is used."""

    def __init__(
        self,
        http: httpx.Client,
        token_url: str,
        client_id: str,
        client_secret: str,
        load: Callable[[], str],
        keep: Callable[[str], None],
    ):
        self._http = http
        self._token_url = token_url
        self._client = (client_id, client_secret)
        self._load = load
        self._keep = keep
        self._token: AccessToken | None = None
        self._lock = threading.Lock()

    def current(self) -> AccessToken:
        with self._lock:
            if self._token is None or not self._token.fresh(time.time()):
                self._token = self._refresh()
            return self._token

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def _refresh(self) -> AccessToken:
        body = token_request(
            self._http,
            self._token_url,
            self._client,
            {"grant_type": "refresh_token", "refresh_token": self._load()},
        )
        if body.get("refresh_token"):
            self._keep(str(body["refresh_token"]))
        return AccessToken(
            value=body["access_token"],
            expires_at=time.time() + float(body.get("expires_in", 1800)),
            scope=str(body.get("scope", "")),
        )


def token_request(
    http: httpx.Client, token_url: str, client: tuple[str, str], form: dict[str, str]
) -> dict[str, Any]:
    """One call of Xero's token endpoint (the code exchange or a refresh), its JSON body; a
    refusal is AuthorisationLost (the user must connect Xero again), an outage transient."""
    try:
        response = http.post(
            token_url, data=form, auth=client, headers={"Accept": "application/json"}
        )
    except httpx.TransportError as exc:
        raise transport_failure(exc, token_url, "xero") from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise TransientError(
            f"Xero's token endpoint {token_url} answered HTTP {response.status_code}",
            status=response.status_code,
            service="xero",
        )
    body = _json(response)
    if response.status_code != 200 or body is None or "access_token" not in body:
        error = str(body.get("error")) if body and body.get("error") else None
        raise AuthorisationLost(
            f"Xero refused the connection's authorisation ({error or response.status_code} "
            f"at {token_url}): connect Xero again from the portal (Connect to Xero)",
            status=response.status_code,
            service="xero",
        )
    return body


def _json(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _refusal(response: httpx.Response, body: dict[str, Any] | None, token_url: str) -> str:
    error = str(body.get("error")) if body and body.get("error") else None
    if error == "invalid_client":
        return (
            f"Xero refused the custom connection's client id and secret (invalid_client at "
            f"{token_url}): check --xero-client-id and --xero-client-secret (or "
            "D365XERO_XERO_CLIENT_SECRET), or reconnect Xero"
        )
    if error:
        return (
            f"Xero refused a token ({error} at {token_url}): check that the app is a custom "
            "connection with the accounting scopes (docs/USER_GUIDE.md), or reconnect Xero"
        )
    return (
        f"{token_url} answered HTTP {response.status_code} without an OAuth token: is "
        "--xero-url Xero's origin (https://api.xero.com, or an emulator's)?"
    )
