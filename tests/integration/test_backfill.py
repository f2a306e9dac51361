"""`d365xero backfill` through the real command line in-process: invoices already in both
systems (pushed by an earlier tool, links lost) are linked by number or by contact, date and
total, never by a guess; their status and payments come back as the back-sync brings them; a
run cut short is finished by the next."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from d365xero.cli import app
from d365xero.dataverse.batch import Operation
from d365xero.jobs import backfill as job
from d365xero.jobs.marks import StoreMarks
from d365xero.solution import schema
from d365xero.store import connections
from tests.integration.conftest import Stack
from tests.integration.test_backsync import ENRICO, _approve, _pay, _pushed, _xero

Run = Callable[..., Result]
YES = schema.option_value(schema.EXPORT_STATUS, "Yes")


@pytest.fixture
def cli(stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    env = stack.process_env()
    return lambda *args: runner.invoke(app, list(args), env=env)


def _linked(stack: Stack) -> dict[str, dict[str, Any]]:
    rows = stack.rows(
        "dxc_xerodetails",
        f"dxc_exportstatus eq {YES}",
        "_dxc_invoiceid_value,dxc_xeroinvoiceid,dxc_xeroinvoicenumber,dxc_xerostatus,dxc_xerourl",
    )
    return {r["_dxc_invoiceid_value"]: r for r in rows}


def _links_lost(stack: Stack) -> dict[str, dict[str, Any]]:
    """Every Xero details row deleted in Dynamics: the invoices are in Xero, unlinked."""
    before = _linked(stack)
    stack.dataverse.batch(
        [
            [Operation("DELETE", f"dxc_xerodetails({r['dxc_xerodetailid']})", None)]
            for r in stack.rows("dxc_xerodetails", "dxc_name ne null", "dxc_xerodetailid")
        ]
    )
    assert not _linked(stack)
    return before


def _twin(stack: Stack, xero_id: str) -> str:
    """A second Xero invoice with the same contact, date and total, as a person might key."""
    [invoice] = stack.xero_get(f"Invoices/{xero_id}")["Invoices"]
    lines = [
        {k: line[k] for k in ("Description", "Quantity", "UnitAmount", "AccountCode", "TaxType")}
        for line in invoice["LineItems"]
    ]
    twin = {
        "Type": "ACCREC",
        "Contact": {"ContactID": invoice["Contact"]["ContactID"]},
        "Date": stack.today().isoformat(),
        "DueDate": stack.today().isoformat(),
        "LineAmountTypes": invoice["LineAmountTypes"],
        "LineItems": lines,
    }
    body = _xero(stack, "PUT", "Invoices", {"Invoices": [twin]})
    assert Decimal(str(body["Invoices"][0]["Total"])) == Decimal(str(invoice["Total"]))
    return str(body["Invoices"][0]["InvoiceID"])


def _invoice_id(stack: Stack, name: str) -> str:
    [row] = stack.rows("invoices", f"name eq '{name}'", "invoiceid")
    return str(row["invoiceid"])


def test_backfill_links_lists_the_doubtful_and_brings_payments(stack: Stack, cli: Run) -> None:
    enrico, enrico_xero = _pushed(stack)
    _approve(stack, enrico_xero)
    _pay(stack, enrico_xero, Decimal("100.00"))
    before = _links_lost(stack)
    [other] = [i for i in before if i != enrico][:1]
    _twin(stack, before[other]["dxc_xeroinvoiceid"])
    since = stack.today().isoformat()

    dry = cli("backfill", "--connection", stack.connection.name, "--since", since, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"would link {ENRICO} to Xero invoice" in dry.stdout
    assert "could be any of" in dry.stdout and "(link it by hand)" in dry.stdout
    assert not _linked(stack)  # a dry run changes nothing

    real = cli("backfill", "--connection", stack.connection.name, "--since", since)

    assert real.exit_code == 1, real.output  # one invoice left for a person to decide
    linked = _linked(stack)
    assert other not in linked and enrico in linked
    assert len(linked) == len(before) - 1
    for invoice_id, row in linked.items():
        assert row["dxc_xeroinvoiceid"] == before[invoice_id]["dxc_xeroinvoiceid"]
        assert row["dxc_xeroinvoicenumber"] == before[invoice_id]["dxc_xeroinvoicenumber"]
        assert row["dxc_xerourl"].startswith("https://go.xero.com/")
    assert linked[enrico]["dxc_xerostatus"] == "Authorised"
    payments = stack.rows("dxc_payments", f"_dxc_invoiceid_value eq {enrico}", "dxc_amount")
    assert [Decimal(str(p["dxc_amount"])) for p in payments] == [Decimal("100")]
    [detail] = stack.rows("dxc_xerodetails", f"_dxc_invoiceid_value eq {enrico}", "dxc_amountdue")
    assert Decimal(str(detail["dxc_amountdue"])) == Decimal("1217.60")

    again = cli("backfill", "--connection", stack.connection.name, "--since", since)
    assert "0 invoice(s) linked" in again.stdout  # nothing linked twice


def test_a_run_cut_short_is_finished_by_the_next(stack: Stack, cli: Run) -> None:
    enrico, enrico_xero = _pushed(stack)
    _approve(stack, enrico_xero)
    _pay(stack, enrico_xero, Decimal("50.00"))
    _links_lost(stack)
    with stack.runtime.sessions() as session:
        found = connections.get_connection(session, stack.connection.id)
        assert found is not None
        clients = stack.runtime.clients_for(
            found, connections.read_secrets(stack.runtime.box, found)
        )
    marks = StoreMarks(stack.runtime.sessions, stack.connection.id)

    def interrupted(ids: Sequence[str]) -> None:
        raise KeyboardInterrupt  # stopped after the links were written, before payments

    with pytest.raises(KeyboardInterrupt):
        job.backfill(clients, marks, stack.today(), interrupted)
    assert enrico in _linked(stack)
    assert not stack.rows("dxc_payments", f"_dxc_invoiceid_value eq {enrico}", "dxc_amount")
    assert marks.token(job.PENDING)

    resumed = cli(
        "backfill", "--connection", stack.connection.name, "--since", stack.today().isoformat()
    )

    assert resumed.exit_code == 0, resumed.output
    assert "finished 3 invoice(s) an interrupted run had linked" in resumed.stdout
    assert "0 invoice(s) linked" in resumed.stdout
    payments = stack.rows("dxc_payments", f"_dxc_invoiceid_value eq {enrico}", "dxc_amount")
    assert [Decimal(str(p["dxc_amount"])) for p in payments] == [Decimal("50")]
    assert not marks.token(job.PENDING)


def test_a_since_that_is_not_a_date_is_refused_when_parsed(stack: Stack, cli: Run) -> None:
    result = cli("backfill", "--connection", stack.connection.name, "--since", "01/12/2026")
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output
