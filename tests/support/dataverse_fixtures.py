"""Pytest fixtures for the Dataverse emulator, for every test tier (registered from
tests/conftest.py):

- `dataverse_app`: the emulator in-process (`.app` for any ASGI transport, `.client()` for a
  starlette TestClient, `.headers()` for a client-credentials bearer token, `.org` the backend).
- `dataverse_server`: the same on a real HTTPS loopback port with a certificate from a LocalCA in
  a temporary folder (`.url`, `.ca_file`), the way msal and Microsoft's SDK must reach it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from d365xero.emulators.core.server import ServerThread
from d365xero.emulators.core.tls import LocalCA
from d365xero.emulators.dataverse.app import create_app
from d365xero.emulators.dataverse.models import Organisation

CLIENT_ID = "d365xero-demo"
CLIENT_SECRET = "demo-secret"
TENANT = "demo-tenant"
API = "/api/data/v9.2"


@dataclass
class DataverseHarness:
    app: Starlette
    url: str = "http://testserver"
    _clients: list[TestClient] = field(default_factory=list)

    @property
    def org(self) -> Organisation:
        org: Organisation = self.app.state.emulator
        return org

    def client(self) -> TestClient:
        client = TestClient(self.app, base_url=self.url, raise_server_exceptions=True)
        self._clients.append(client)
        return client

    def token(self) -> str:
        """A client-credentials access token for this organisation, from its token endpoint."""
        response = self.client().post(
            f"/{TENANT}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "scope": f"{self.url}/.default",
            },
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.token()}",
            "Accept": "application/json",
            "OData-MaxVersion": "4.0",
            "OData-Version": "4.0",
        }

    def close(self) -> None:
        for client in self._clients:
            client.close()


@pytest.fixture
def dataverse_app() -> Iterator[DataverseHarness]:
    harness = DataverseHarness(create_app())
    yield harness
    harness.close()


@dataclass
class DataverseServer:
    app: Starlette
    url: str
    ca_file: Path

    @property
    def org(self) -> Organisation:
        org: Organisation = self.app.state.emulator
        return org


@pytest.fixture
def dataverse_server(tmp_path: Path) -> Iterator[DataverseServer]:
    """The emulator over HTTPS on 127.0.0.1, trusted through `ca_file` only."""
    ca = LocalCA.load_or_create(tmp_path)
    tls = ca.issue("dataverse-emulator")
    app = create_app()
    with ServerThread(app, tls=tls) as server:
        yield DataverseServer(app, server.url, ca.cert_path)
