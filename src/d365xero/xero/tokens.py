"""Xero access tokens for one connection: client credentials (custom connections) now;
the authorization-code grant's refresh rotation goes here too."""

from __future__ import annotations

import threading
import time
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
