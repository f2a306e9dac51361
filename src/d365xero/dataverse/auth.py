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

from d365xero.errors import AuthorisationLost, ConfigurationError
from d365xero.reach import transport_failure

ENTRA = "https://login.microsoftonline.com"

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
            finally:
                # A token lasts an hour or more, its connection a few seconds of keep-alive:
                # one left open would hold a TLS context (~0.7 MiB) per connection until then.
                self._session.close()
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
