"""Nothing silent: `sync --once` prints a line per invoice it changed (created, updated, failed or
deferred, with why) unless --quiet, exits 1 when an invoice failed, and a pass that defers
invoices says why on its output and on its sync_runs row."""

from __future__ import annotations

from typer.testing import CliRunner

from d365xero.cli import app
from d365xero.demo import create_sample_invoices
from d365xero.jobs.scheduler import invoice_lines, summary
from d365xero.store import runs
from d365xero.store.models import RunStatus
from tests.integration.conftest import Stack


def _invoices(stack: Stack) -> None:
    row_id = stack.connection.dataverse_connection_row_id or ""
    create_sample_invoices(stack.dataverse, row_id, stack.today())


def _sync(stack: Stack, *args: str) -> tuple[int, list[str]]:
    settings = stack.runtime.settings
    env = {
        "D365XERO_DATA_DIR": str(settings.data_dir),
        "D365XERO_DATABASE_URL": settings.database(),
        "D365XERO_CA_BUNDLE": str(settings.ca_bundle),
    }
    result = CliRunner().invoke(app, ["sync", "--once", *args], env=env)
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout.splitlines()


def test_sync_once_prints_each_invoice_it_changed_and_exits_1_for_a_failure(
    stack: Stack,
) -> None:
    _invoices(stack)
    code, lines = _sync(stack)
    assert code == 1  # done, but an invoice failed
    name = stack.connection.name
    assert lines[0].startswith(f"{name}: 3 created, 0 updated, 1 failed (")
    assert lines[0].endswith(
        " - push: 1 invoice failed (The invoice has no Price List: set Price List, "
        "then set Export status to No to retry.)"
    )
    body = lines[1:]
    assert len(body) == 4  # "Delivered tomorrow" waits: not news
    for invoice in ("test Enrico 1", "Support renewal", "Consulting"):
        [line] = [line for line in body if line.startswith(f"  {invoice}: ")]
        assert line.startswith(f"  {invoice}: created in Xero as INV-")
    [failed] = [line for line in body if line.startswith("  Missing price list: ")]
    assert failed == (
        "  Missing price list: failed - The invoice has no Price List: set Price List, then set "
        "Export status to No to retry."
    )

    code, lines = _sync(stack, "--quiet")  # nothing left to do: counts only, exit 0
    assert code == 0
    assert len(lines) == 1 and lines[0].startswith(f"{name}: 0 created, 0 updated, 0 failed (")


def test_a_pass_that_defers_invoices_says_why_and_records_it(stack: Stack) -> None:
    _invoices(stack)
    # Xero's minute limit, with a wait longer than the connector waits within a pass.
    fault = {"route": "PUT /api.xro/2.0/Invoices", "kind": "429", "retry_after": 120, "times": 1}
    assert stack.xero.client().post("/_emulator/faults", json={"faults": [fault]}).is_success

    result = stack.run_pass()
    assert result.status is RunStatus.partial
    assert "3 invoices deferred to the next pass (Xero's minute limit is reached" in result.message
    assert "retry after 120 s" in summary(result)
    deferred = [line for line in invoice_lines(result) if "deferred" in line]
    assert len(deferred) == 3
    assert ": deferred - Xero's minute limit is reached; retry after 120 s" in deferred[0]
    assert "Tried again from" in deferred[0]  # when: the invoice waits out a backoff
    with stack.runtime.sessions() as session:
        [run] = runs.recent_runs(session, stack.connection.id, limit=1)
        assert run.status == RunStatus.partial.value
        assert run.message == result.message

    stack.retries_due()
    again = stack.run_pass()  # the limit and the backoff are over: the deferred invoices go
    assert again.report.count("created") == 3 and again.report.count("deferred") == 0
