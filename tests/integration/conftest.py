"""The whole stack on real loopback ports: both emulators over HTTPS (the local CA in a temp
folder), the store on SQLite and on PostgreSQL, and a connection made as `d365xero connection
add` makes it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from d365xero.config import Settings
from d365xero.dataverse.auth import DataverseTokens
from d365xero.dataverse.client import DataverseClient
from d365xero.demo import demo_connection
from d365xero.emulators.core.server import ServerThread
from d365xero.emulators.core.tls import LocalCA
from d365xero.emulators.dataverse.app import create_app as create_dataverse
from d365xero.jobs.passes import PassResult, run_pass
from d365xero.jobs.runtime import Runtime, open_runtime
from d365xero.jobs.setup import add_connection
from d365xero.store.models import Connection
from d365xero.trust import ca_bundle_file, ssl_context
from tests.support.xero_fixtures import CLIENT_ID, CLIENT_SECRET, XeroHarness, build_harness

TENANT = "demo-tenant"


@dataclass
class Stack:
    runtime: Runtime
    connection: Connection
    xero: XeroHarness
    dataverse_app: Starlette
    dataverse: DataverseClient  # for the test to read and write Dynamics as a user would

    def run_pass(self) -> PassResult:
        return run_pass(self.runtime, self.connection.id)

    def xero_get(self, path: str, **params: Any) -> Any:
        response = self.xero.client().get(
            f"/api.xro/2.0/{path}", params=params, headers=self.xero.headers()
        )
        assert response.status_code == 200, response.text
        return response.json()

    def rows(self, entity_set: str, filter_: str, select: str = "") -> list[dict[str, Any]]:
        params = {"$filter": filter_}
        if select:
            params["$select"] = select
        return list(self.dataverse.get(entity_set, params)["value"])

    def today(self) -> date:
        return datetime.now(UTC).date()


@pytest.fixture
def stack(tmp_path: Path, database_url: str, xero_specs: None) -> Iterator[Stack]:
    ca = LocalCA.load_or_create(tmp_path)
    xero = build_harness()
    xero.starlette.state.emulator.seed()
    dataverse_app = create_dataverse(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, tenant=TENANT
    )
    dataverse_app.state.emulator.seed()
    settings = Settings(data_dir=tmp_path, database_url=database_url, ca_bundle=ca.cert_path)
    with (
        ServerThread(xero.validator, tls=ca.issue("xero")) as xero_server,
        ServerThread(dataverse_app, tls=ca.issue("dataverse")) as dataverse_server,
        httpx.Client(verify=ssl_context(ca.cert_path)) as http,
    ):
        xero.url = xero_server.url
        runtime = open_runtime(settings)
        connection, _ = add_connection(
            settings,
            runtime.sessions,
            runtime.box,
            demo_connection(xero_server.url, dataverse_server.url),
        )
        tokens = DataverseTokens(
            org_url=dataverse_server.url,
            tenant=TENANT,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            authority=dataverse_server.url,
            ca_bundle=ca_bundle_file(ca.cert_path, tmp_path),
        )
        client = DataverseClient(http, dataverse_server.url, tokens)
        yield Stack(runtime, connection, xero, dataverse_app, client)
        runtime.close()
    xero.check()
