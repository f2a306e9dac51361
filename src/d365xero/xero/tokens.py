"""Xero access tokens for one connection: client credentials (custom connections) now;
the authorization-code grant's refresh rotation goes here too."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import httpx

from d365xero.errors import AuthorisationLost, TransientError

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
        except httpx.HTTPError as exc:
            raise TransientError(
                f"Xero's token endpoint did not answer: {exc}", service="xero"
            ) from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise TransientError(
                f"Xero's token endpoint answered {response.status_code}",
                status=response.status_code,
                service="xero",
            )
        if response.status_code != 200:
            error = _error_code(response)
            raise AuthorisationLost(
                f"Xero refused the app's credentials ({error}): check the client id and secret "
                "of the custom connection, or reconnect Xero.",
                status=response.status_code,
                service="xero",
            )
        body = response.json()
        return AccessToken(
            value=body["access_token"],
            expires_at=time.time() + float(body.get("expires_in", 1800)),
            scope=str(body.get("scope", "")),
        )


def _error_code(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error", response.status_code))
    except ValueError:
        return str(response.status_code)
