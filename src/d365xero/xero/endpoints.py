"""Where Xero's three services live for a given base URL.

Real Xero splits identity (identity.xero.com) from the API (api.xero.com); an emulator serves all
of it from one origin.
"""

from __future__ import annotations

from dataclasses import dataclass

XERO_API = "https://api.xero.com"


@dataclass(frozen=True)
class XeroEndpoints:
    base_url: str = XERO_API

    @property
    def _origin(self) -> str:
        return self.base_url.rstrip("/")

    @property
    def identity(self) -> str:
        if self._origin == XERO_API:
            return "https://identity.xero.com"
        return self._origin

    @property
    def login(self) -> str:
        if self._origin == XERO_API:
            return "https://login.xero.com/identity/connect/authorize"
        return self._origin + "/identity/connect/authorize"

    @property
    def token_url(self) -> str:
        return self.identity + "/connect/token"

    @property
    def revocation_url(self) -> str:
        return self.identity + "/connect/revocation"

    @property
    def accounting(self) -> str:
        return self._origin + "/api.xro/2.0"

    @property
    def connections(self) -> str:
        return self._origin
