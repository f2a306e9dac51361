"""`sync --dry-run`: the same reads and validation as a real pass, and nothing written anywhere."""

from __future__ import annotations

import sqlalchemy as sa

from d365xero.demo import create_sample_invoices
from d365xero.jobs.passes import dry_run_pass
from d365xero.jobs.scheduler import describe_dry_run
from d365xero.store.models import XeroWrite
from tests.integration.conftest import Stack


def test_a_dry_run_shows_everything_and_changes_nothing(stack: Stack) -> None:
    create_sample_invoices(
        stack.dataverse, stack.connection.dataverse_connection_row_id or "", stack.today()
    )
    xero_before = stack.xero_get("Invoices")["Invoices"]
    stack.xero.emulator.calls.clear()
    runtime = stack.runtime
    result = dry_run_pass(runtime, stack.connection.id)

    assert result.report.count("created") == 3
    assert result.report.count("failed") == 1
    assert "Delivered tomorrow" not in {o.invoice_name for o in result.report.outcomes}
    assert "A. Datum Corporation (sample)" in result.intentions.contacts
    assert len(result.intentions.invoices) == 3
    payload = next(
        p for p in result.intentions.invoices.values() if p.get("Reference") == "ygtbebf"
    )
    assert payload["Type"] == "ACCREC"
    assert payload["Contact"] == {
        "Name": "A. Datum Corporation (sample)",
        "HasAttachments": False,
        "HasValidationErrors": False,
    }
    assert [line["Description"] for line in payload["LineItems"]][:2] == [
        "Test line 1 Here are some stuff",
        "This is just a great comment",
    ]
    text = describe_dry_run(result)
    assert "Missing price list: would fail" in text
    assert "Price List" in text

    writes = [k for k in stack.xero.emulator.calls.snapshot() if not k.startswith("GET ")]
    assert [k for k in writes if "/api.xro/" in k] == []
    assert stack.xero_get("Invoices")["Invoices"] == xero_before
    assert stack.rows("dxc_xerodetails", "dxc_exportstatus ne null") == []
    assert stack.rows("dxc_synchistories", "dxc_name ne null") == []
    with runtime.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(XeroWrite)) == 0

    real = stack.run_pass()
    assert real.report.count("created") == 3
