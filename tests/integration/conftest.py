"""The whole stack on real loopback ports: both emulators over HTTPS (the local CA in a temp
folder), the store on SQLite and on PostgreSQL, and a connection made as `d365xero connection
add` makes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from d365xero.config import Settings
from d365xero.dataverse.auth import DataverseTokens
from d365xero.dataverse.batch import Operation
from d365xero.dataverse.client import DataverseClient
from d365xero.demo import demo_connection
from d365xero.emulators.core.server import ServerThread
from d365xero.emulators.core.tls import LocalCA
from d365xero.emulators.dataverse.app import create_app as create_dataverse
from d365xero.jobs.passes import PassResult, run_pass
from d365xero.jobs.runtime import Runtime, open_runtime
from d365xero.jobs.setup import add_connection
from d365xero.solution import schema
from d365xero.store.models import Connection, InvoiceRetry, RunStatus
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
        # A process killed while it held the pass lock lets go of it once its database
        # connection is seen closed: on PostgreSQL that can take a moment after the kill.
        result = run_pass(self.runtime, self.connection.id, wait=30)
        assert result.status is not RunStatus.skipped, result.message
        return result

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

    def process_env(self) -> dict[str, str]:
        """The environment a connector process needs to use this stack's store and emulators."""
        settings = self.runtime.settings
        env = {k: v for k, v in os.environ.items() if not k.startswith("D365XERO_")}
        env.update(
            D365XERO_DATA_DIR=str(settings.data_dir),
            D365XERO_DATABASE_URL=settings.database(),
            D365XERO_CA_BUNDLE=str(settings.ca_bundle),
        )
        return env

    def retries_due(self) -> None:
        """Every invoice's retry backoff is over (its next attempt moved into the past)."""
        with self.runtime.sessions.begin() as session:
            past = datetime.now(UTC) - timedelta(seconds=1)
            session.execute(sa.update(InvoiceRetry).values(next_attempt_at=past))

    def crash_pass(self, step: str) -> None:
        """A pass in a process of its own, killed with SIGKILL at the engine's step `step`."""
        crashed = subprocess.run(
            [sys.executable, "-m", "tests.support.crash_pass", self.connection.id, step],
            env=self.process_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert crashed.returncode == -signal.SIGKILL, crashed.stdout + crashed.stderr


def ready_backlog(stack: Stack, count: int) -> None:
    """`count` ready invoices for one (already linked) customer, made in $batch requests."""
    [account] = stack.rows("accounts", "name eq 'A. Datum Corporation (sample)'", "accountid")
    [prices] = stack.rows("pricelevels", "name ne null", "pricelevelid")[:1]
    row_id = stack.connection.dataverse_connection_row_id
    changesets = []
    for n in range(count):
        content_id = 2 * n + 1  # the invoice's Content-ID in the batch; its line is the next
        changesets.append(
            [
                Operation(
                    "POST",
                    "invoices",
                    {
                        "name": f"Backlog {n:04d}",
                        "customerid_account@odata.bind": f"/accounts({account['accountid']})",
                        "pricelevelid@odata.bind": f"/pricelevels({prices['pricelevelid']})",
                        "dxc_ConnectionId@odata.bind": f"/dxc_connections({row_id})",
                        "datedelivered": stack.today().isoformat(),
                        "dxc_invoicetype": schema.option_value(schema.INVOICE_TYPE, "Sales"),
                    },
                ),
                Operation(
                    "POST",
                    "invoicedetails",
                    {
                        "invoiceid@odata.bind": f"${content_id}",
                        "isproductoverridden": True,
                        "productdescription": f"Service {n}",
                        "quantity": 1,
                        "priceperunit": 10 + n,
                    },
                ),
            ]
        )
    results = stack.dataverse.batch(changesets)
    assert all(r.status < 300 for r in results), [r for r in results if r.status >= 300][:1]


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
