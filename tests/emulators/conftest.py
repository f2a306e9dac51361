"""Fixtures of the emulator tests.

# --- Xero -------------------------------------------------------------------------------------
# `xero_app` and `xero_server` come from tests/support/xero_fixtures.py (registered for every tier
# in tests/conftest.py). Below: shortcuts the Xero emulator tests share.
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient
from tests.support.dataverse_fixtures import DataverseHarness
from tests.support.xero_fixtures import XeroHarness

# --- Xero (owner: Xero emulator) ---------------------------------------------------------------


@pytest.fixture
def xero(xero_app: XeroHarness) -> tuple[TestClient, dict[str, str]]:
    """A validated client of a fresh Xero emulator and the headers of a client-credentials token."""
    return xero_app.client(), xero_app.headers()


# --- end Xero ---------------------------------------------------------------------------------


# --- Dataverse (owner: Dataverse emulator) -----------------------------------------------------
# `dataverse_app` and `dataverse_server` come from tests/support/dataverse_fixtures.py.


class DataverseClient:
    """A TestClient of a fresh Dataverse emulator that sends a valid bearer token, with
    paths relative to /api/data/v9.2/."""

    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        self.http = client
        self.headers = headers

    def request(self, method: str, path: str, **kw: object) -> Any:
        headers = {**self.headers, **kw.pop("headers", {})}  # type: ignore[dict-item]
        return self.http.request(method, f"/api/data/v9.2/{path}", headers=headers, **kw)  # type: ignore[arg-type]

    def get(self, path: str, **kw: object) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: object) -> Any:
        return self.request("POST", path, **kw)

    def patch(self, path: str, **kw: object) -> Any:
        return self.request("PATCH", path, **kw)

    def delete(self, path: str, **kw: object) -> Any:
        return self.request("DELETE", path, **kw)

    def create(self, entity_set: str, body: dict[str, Any]) -> str:
        """POSTs and returns the new id from OData-EntityId, failing the test on an error."""
        response = self.post(entity_set, json=body)
        assert response.status_code == 204, response.text
        return str(response.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")"))


@pytest.fixture
def dv(dataverse_app: DataverseHarness) -> DataverseClient:
    """A seeded organisation's Web API, authenticated."""
    dataverse_app.org.seed()
    return DataverseClient(dataverse_app.client(), dataverse_app.headers())


# --- end Dataverse -----------------------------------------------------------------------------
