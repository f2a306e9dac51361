"""Entra ID tokens for the Dataverse Web API (client credentials through msal).

msal is pointed at the tenant's authority (login.microsoftonline.com, or an emulator's origin)
with instance discovery off for anything that is not Microsoft's cloud, so it reads the
authority's own OpenID metadata. msal caches the token and renews it before it expires.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import msal
import requests

from d365xero.errors import AuthorisationLost, TransientError

ENTRA = "https://login.microsoftonline.com"


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
        self._scope = [org_url.rstrip("/") + "/.default"]
        authority = authority.rstrip("/")
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
            except (ValueError, OSError) as exc:  # msal's discovery and transport errors
                self._app = None
                raise TransientError(
                    f"Entra ID did not answer: {exc}", service="dataverse"
                ) from exc
        if "access_token" not in result:
            raise AuthorisationLost(
                "Entra ID refused the app's credentials for Dynamics "
                f"({result.get('error')}: {str(result.get('error_description', ''))[:200]}): "
                "check the application user's client id and secret, or reconnect Dynamics.",
                service="dataverse",
            )
        return str(result["access_token"])

    def close(self) -> None:
        self._session.close()

    def invalidate(self) -> None:
        """Forget the cached token (after a 401), so the next call asks Entra ID afresh."""
        with self._lock:
            self._app = None
