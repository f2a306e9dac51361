"""The installation a customer does, end to end: a Dataverse organisation without our tables gets
the built solution through ImportSolution, and then a sync pass runs against it (both emulators
over HTTPS, the store, the real SDKs: the integration tier's stack)."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from tests.integration import conftest as integration
from tests.integration.conftest import Stack, stack  # noqa: F401  (the fixture, reused)

from d365xero.demo import create_sample_invoices
from d365xero.solution import schema
from d365xero.solution.build import build_solution

API = "/api/data/v9.2"


def _import_built_solution(app: Starlette, client_id: str, client_secret: str, tenant: str) -> None:
    with TestClient(app, base_url="http://testserver") as client:
        token = client.post(
            f"/{tenant}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": client_secret,
                "scope": "http://testserver/.default",
            },
        ).json()["access_token"]
        response = client.post(
            f"{API}/ImportSolution",
            json={
                "OverwriteUnmanagedCustomizations": True,
                "PublishWorkflows": True,
                "CustomizationFile": base64.b64encode(build_solution()).decode(),
                "ImportJobId": str(uuid.uuid4()),
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 204, response.text


@pytest.fixture
def installed_by_import(monkeypatch: pytest.MonkeyPatch) -> None:
    """Makes the stack's Dataverse start bare and receive our tables by importing the zip."""
    create = integration.create_dataverse

    def bare_then_import(**kwargs: Any) -> Starlette:
        app = create(**kwargs, with_solution=False)
        assert "dxc_xerodetail" not in app.state.emulator.metadata.entities
        _import_built_solution(app, kwargs["client_id"], kwargs["client_secret"], kwargs["tenant"])
        return app

    monkeypatch.setattr(integration, "create_dataverse", bare_then_import)


def test_a_sync_pass_runs_against_the_imported_solution(
    installed_by_import: None,
    stack: Stack,  # noqa: F811
) -> None:
    assert "dxc_xerodetail" in stack.dataverse_app.state.emulator.metadata.entities
    create_sample_invoices(
        stack.dataverse, stack.connection.dataverse_connection_row_id or "", stack.today()
    )
    result = stack.run_pass()
    assert result.report.count("created") == 3, result.report.outcomes
    details = stack.rows("dxc_xerodetails", "dxc_xeroinvoiceid ne null")
    assert len(details) == 3
    yes = schema.option_value(schema.EXPORT_STATUS, "Yes")
    assert {d["dxc_exportstatus"] for d in details} == {yes}
    assert stack.rows("dxc_synchistories", "dxc_details ne null")
