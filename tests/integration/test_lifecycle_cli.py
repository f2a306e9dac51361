"""The lifecycle commands (reference-data, retry, reconcile) through the real command line
in-process (typer's CliRunner), against both emulators and the store on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import Result
from typer.testing import CliRunner

from d365xero.cli import app
from d365xero.dataverse.batch import Operation
from d365xero.demo import create_sample_invoices
from d365xero.solution import schema
from d365xero.store.models import InvoiceRetry
from d365xero.sync.reference import LAST_IMPORT
from tests.integration.conftest import Stack

Run = Callable[..., Result]
FAILED = schema.option_value(schema.EXPORT_STATUS, "Failed")
NO = schema.option_value(schema.EXPORT_STATUS, "No")
UNREADY = "Missing price list"  # the sample invoice that fails at once


@pytest.fixture
def cli(stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.chdir(tmp_path)  # no stray .env
    runner = CliRunner()
    env = stack.process_env()

    def run(*args: str) -> Result:
        return runner.invoke(app, list(args), env=env)

    return run


def _name(stack: Stack) -> str:
    return stack.connection.name


def _error(result: Result, code: int) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def _pushed(stack: Stack) -> None:
    create_sample_invoices(
        stack.dataverse, stack.connection.dataverse_connection_row_id or "", stack.today()
    )
    stack.run_pass()


# -- reference-data ------------------------------------------------------------------------


def test_accounts_before_tax_rates_are_refused_naming_the_order(stack: Stack, cli: Run) -> None:
    taxes = stack.rows("dxc_taxtypes", "dxc_name ne null", "dxc_taxtypeid")
    stack.dataverse.batch(
        [[Operation("DELETE", f"dxc_taxtypes({t['dxc_taxtypeid']})", None)] for t in taxes]
    )

    refused = cli("reference-data", "--connection", _name(stack), "--only", "accounts")
    line = _error(refused, 2)
    assert "import tax rates before accounts" in line and "--only taxrates" in line
    themes = cli("reference-data", "--connection", _name(stack), "--only", "brandingthemes")
    assert "import tax rates before branding themes" in _error(themes, 2)

    first = cli("reference-data", "--connection", _name(stack), "--only", "taxrates")
    assert first.exit_code == 0, first.output
    assert f"dxc_taxtypes: {len(taxes)}" in first.stdout
    then = cli("reference-data", "--connection", _name(stack), "--only", "accounts")
    assert then.exit_code == 0, then.output
    assert "dxc_chartofaccounts:" in then.stdout and "dxc_taxtypes" not in then.stdout


def test_archived_and_removed_rows_are_deactivated_never_deleted(stack: Stack, cli: Run) -> None:
    books = stack.xero.emulator.demo
    archived_code, removed_code = "200", "260"  # seeded revenue accounts
    books.accounts[archived_code]["Status"] = "ARCHIVED"  # as a Xero user archives one
    removed = books.accounts.pop(removed_code)  # an unused account deleted in Xero
    theme = books.branding_themes.pop()
    # A row another connection's Xero organisation put there (its id is not this tenant's).
    other = stack.dataverse.create(
        "dxc_chartofaccounts",
        {"dxc_name": "Other org's sales", "dxc_code": "201", "dxc_xeroaccountid": "other-id"},
    )
    before = len(stack.rows("dxc_chartofaccounts", "dxc_name ne null", "dxc_chartofaccountid"))

    result = cli("reference-data", "--connection", _name(stack))

    assert result.exit_code == 0, result.output
    assert "dxc_chartofaccounts deactivated: 1" in result.stdout
    assert "dxc_brandingthemes deactivated: 1" in result.stdout
    rows = stack.rows("dxc_chartofaccounts", "dxc_name ne null", "dxc_code,statecode,dxc_status")
    assert len(rows) == before  # none deleted
    by_code = {r["dxc_code"]: r for r in rows}
    assert (by_code[archived_code]["statecode"], by_code[archived_code]["dxc_status"]) == (
        1,
        "ARCHIVED",
    )
    assert (by_code[removed_code]["statecode"], by_code[removed_code]["dxc_status"]) == (
        1,
        "DELETED",
    )
    assert {r["statecode"] for c, r in by_code.items() if c not in (archived_code, "260")} == {0}
    assert by_code["201"]["statecode"] == 0  # left alone
    assert other
    [gone] = stack.rows(
        "dxc_brandingthemes",
        f"dxc_xerobrandingthemeid eq '{theme['BrandingThemeID']}'",
        "statecode",
    )
    assert gone["statecode"] == 1

    books.accounts[removed_code] = removed  # back in Xero: active again in Dynamics
    again = cli("reference-data", "--connection", _name(stack), "--only", "accounts")
    assert again.exit_code == 0, again.output
    [back] = stack.rows("dxc_chartofaccounts", f"dxc_code eq '{removed_code}'", "statecode")
    assert back["statecode"] == 0


def test_an_unknown_code_asks_the_next_pass_to_import_reference_data(stack: Stack) -> None:
    stack.run_pass()
    with stack.runtime.sessions() as session:
        assert session.execute(sa.text("select count(*) from sync_marks")).scalar()
    marks_before = _mark(stack)
    assert marks_before is not None
    _a_line_with_tax(stack, "NOSUCHTAX")
    result = stack.run_pass()
    assert result.report.count("failed") >= 1
    assert _mark(stack) is None  # cleared: the next pass's reference step imports again
    stack.run_pass()
    assert _mark(stack) is not None


def _mark(stack: Stack) -> datetime | None:
    from d365xero.jobs.marks import StoreMarks

    return StoreMarks(stack.runtime.sessions, stack.connection.id).get(LAST_IMPORT)


def _a_line_with_tax(stack: Stack, code: str) -> list[str]:
    """A ready invoice whose line names a tax type Dynamics has (inactive) and Xero does not."""
    from tests.integration.conftest import ready_backlog

    ready_backlog(stack, 1)
    [invoice] = stack.rows("invoices", "name eq 'Backlog 0000'", "invoiceid")
    [line] = stack.rows(
        "invoicedetails", f"_invoiceid_value eq {invoice['invoiceid']}", "invoicedetailid"
    )
    tax_id = stack.dataverse.create(
        "dxc_taxtypes", {"dxc_name": code, "dxc_taxtypecode": code, "dxc_status": "ACTIVE"}
    )
    stack.dataverse.update(
        "invoicedetails",
        line["invoicedetailid"],
        {"dxc_TaxTypeId@odata.bind": f"/dxc_taxtypes({tax_id})"},
    )
    return [line["invoicedetailid"]]


# -- retry ---------------------------------------------------------------------------------


def test_retry_one_invoice_resets_it_and_forgets_its_backoff(stack: Stack, cli: Run) -> None:
    _pushed(stack)
    [failed] = stack.rows("invoices", f"name eq '{UNREADY}'", "invoiceid,invoicenumber")
    with stack.runtime.sessions.begin() as session:  # as if it had also waited for a retry
        session.add(
            InvoiceRetry(
                connection_id=stack.connection.id,
                invoice_id=failed["invoiceid"],
                attempts=3,
                first_failed_at=datetime.now(UTC),
                next_attempt_at=datetime.now(UTC),
                last_reason="503",
            )
        )

    result = cli("retry", "--connection", _name(stack), "--invoice", failed["invoicenumber"])

    assert result.exit_code == 0, result.output
    assert "1 invoice(s) set back to export status No" in result.stdout
    [detail] = stack.rows(
        "dxc_xerodetails", f"_dxc_invoiceid_value eq {failed['invoiceid']}", "dxc_exportstatus"
    )
    assert detail["dxc_exportstatus"] == NO
    with stack.runtime.sessions() as session:
        assert not session.scalars(sa.select(InvoiceRetry)).all()

    again = cli("retry", "--connection", _name(stack), "--invoice", failed["invoicenumber"])
    assert again.exit_code == 0 and "is not Failed: nothing to retry" in again.stdout


def test_retry_all_failed_in_bulk_and_an_unknown_number_is_exit_2(stack: Stack, cli: Run) -> None:
    _pushed(stack)
    failed = stack.rows("dxc_xerodetails", f"dxc_exportstatus eq {FAILED}", "dxc_xerodetailid")
    assert failed

    result = cli("retry", "--connection", _name(stack), "--all-failed")

    assert result.exit_code == 0, result.output
    assert f"{len(failed)} invoice(s) set back to export status No" in result.stdout
    assert not stack.rows("dxc_xerodetails", f"dxc_exportstatus eq {FAILED}", "dxc_xerodetailid")

    unknown = cli("retry", "--connection", _name(stack), "--invoice", "INV-NO-SUCH")
    assert "no invoice numbered 'INV-NO-SUCH'" in _error(unknown, 2)
    both = cli("retry", "--connection", _name(stack))
    assert "--invoice NUMBER or --all-failed" in _error(both, 2)


# -- reconcile -----------------------------------------------------------------------------


def test_reconcile_agrees_after_a_push_then_names_each_difference(
    stack: Stack, cli: Run, tmp_path: Path
) -> None:
    _pushed(stack)
    linked = stack.rows(
        "dxc_xerodetails",
        f"dxc_exportstatus eq {schema.option_value(schema.EXPORT_STATUS, 'Yes')}",
        "dxc_xeroinvoiceid,_dxc_invoiceid_value",
    )
    assert len(linked) >= 2

    agreed = cli("reconcile", "--connection", _name(stack))
    assert agreed.exit_code == 0, agreed.output
    assert f"{len(linked)} linked invoice(s) compared: all agree" in agreed.stdout
    assert "(1 Xero call(s), 1 Dynamics call(s))" in agreed.stdout  # one page each

    # Xero moves on without Dynamics: one invoice authorised there, one missing.
    books = stack.xero.emulator.demo
    first, second = (books.invoices.invoices[r["dxc_xeroinvoiceid"]] for r in linked[:2])
    first["Status"] = "AUTHORISED"
    del books.invoices.invoices[second["InvoiceID"]]
    report = tmp_path / "findings.csv"

    differs = cli("reconcile", "--connection", _name(stack), "--csv", str(report))

    assert differs.exit_code == 1, differs.output
    assert "status is DRAFT in Dynamics, AUTHORISED in Xero" in differs.stdout
    assert "which Xero does not have" in differs.stdout
    assert "differences found" in differs.stdout
    rows = report.read_text().splitlines()
    assert rows[0] == "kind,dynamics_invoice,xero_invoice,field,dynamics,xero"
    assert any(r.startswith("differs,") and ",status,DRAFT,AUTHORISED" in r for r in rows)
    assert any(r.startswith("missing in Xero,") for r in rows)


def test_reconcile_lists_a_xero_invoice_linking_an_unlinked_dynamics_invoice(
    stack: Stack, cli: Run
) -> None:
    _pushed(stack)
    yes = schema.option_value(schema.EXPORT_STATUS, "Yes")
    [detail, *_] = stack.rows(
        "dxc_xerodetails", f"dxc_exportstatus eq {yes}", "dxc_xerodetailid,dxc_xeroinvoiceid"
    )
    # The Xero details row lost (as if someone deleted it in Dynamics): Xero still links us.
    stack.dataverse.batch(
        [[Operation("DELETE", f"dxc_xerodetails({detail['dxc_xerodetailid']})", None)]]
    )

    result = cli("reconcile", "--connection", _name(stack))

    assert result.exit_code == 1, result.output
    assert (
        "links Dynamics invoice" in result.stdout and "which is not linked to it" in result.stdout
    )
