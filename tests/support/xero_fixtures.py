"""Pytest fixtures for the Xero emulator, for every test tier (registered from tests/conftest.py):

- `xero_app`: the emulator in-process, wrapped by the OpenAPI validator; use `.client()` (a
  starlette TestClient) or hand `.app` to any ASGI-capable transport.
- `xero_server`: the same validated app served on a real loopback port (`.url`).

Both fail the test at teardown if any request or response broke Xero's OpenAPI spec.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from d365xero.emulators.core.server import ServerThread
from d365xero.emulators.xero import refdata
from d365xero.emulators.xero.app import create_app
from d365xero.emulators.xero.models import XeroBackend
from tests.support.xero_openapi import XeroValidator, accounting_spec, identity_spec

CLIENT_ID = "d365xero-demo"
CLIENT_SECRET = "demo-secret"
TENANT_ID = refdata.TENANT_ID
API = "/api.xro/2.0"


@dataclass
class XeroHarness:
    starlette: Starlette
    validator: XeroValidator
    url: str = "http://testserver"
    _clients: list[TestClient] = field(default_factory=list)

    @property
    def app(self) -> XeroValidator:
        return self.validator

    @property
    def emulator(self) -> XeroBackend:
        backend: XeroBackend = self.starlette.state.emulator
        return backend

    def client(self) -> TestClient:
        client = TestClient(self.validator, base_url=self.url, raise_server_exceptions=True)
        self._clients.append(client)
        return client

    def token(self, scope: str | None = None) -> str:
        data = {
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        }
        if scope:
            data["scope"] = scope
        response = self.client().post("/connect/token", data=data)
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def headers(self, token: str | None = None, **extra: str) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {token or self.token()}",
            "xero-tenant-id": TENANT_ID,
            "Accept": "application/json",
        }
        headers.update(extra)
        return headers

    def check(self) -> None:
        for client in self._clients:
            client.close()
        if self.validator.mismatches:
            report = "\n".join(self.validator.mismatches)
            pytest.fail(f"Xero emulator traffic broke Xero's OpenAPI spec:\n{report}")


def build_harness(**options: Any) -> XeroHarness:
    starlette = create_app(**options)
    return XeroHarness(starlette=starlette, validator=XeroValidator(starlette))


@pytest.fixture(scope="session")
def xero_specs() -> None:
    """Loads Xero's OpenAPI files once per session."""
    accounting_spec()
    identity_spec()


@pytest.fixture
def xero_app(xero_specs: None) -> Iterator[XeroHarness]:
    harness = build_harness()
    yield harness
    harness.check()


@pytest.fixture
def xero_server(xero_specs: None) -> Iterator[XeroHarness]:
    harness = build_harness()
    with ServerThread(harness.validator) as server:
        harness.url = server.url
        yield harness
    harness.check()
