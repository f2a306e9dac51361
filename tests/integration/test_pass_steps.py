"""A pass is a sequence of steps: each recorded on the run with what it did and cost; one that
fails does not stop the others; reference data stays fresh without a button."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from d365xero.dataverse.gateway import DynamicsGateway
from d365xero.demo import create_sample_invoices
from d365xero.solution import schema
from d365xero.store import marks, runs
from d365xero.store.models import RunStatus
from d365xero.sync.failed import FAILED as FAILED_COUNT
from d365xero.sync.failed import FailedCount
from d365xero.sync.reference import LAST_IMPORT
from tests.integration.conftest import Stack

FAILED = schema.option_value(schema.EXPORT_STATUS, "Failed")
NO = schema.option_value(schema.EXPORT_STATUS, "No")


def _last_run_steps(stack: Stack) -> list[dict]:
    with stack.runtime.sessions() as session:
        run = runs.recent_runs(session, stack.connection.id, limit=1)[0]
        return list(json.loads(run.steps or "[]"))


def _age_reference_mark(stack: Stack, age: timedelta) -> None:
    with stack.runtime.sessions.begin() as session:
        moment = datetime.now(UTC) - age
        marks.set_mark(session, stack.connection.id, LAST_IMPORT, moment)


def test_each_step_is_recorded_with_its_calls(stack: Stack) -> None:
    create_sample_invoices(
        stack.dataverse, stack.connection.dataverse_connection_row_id or "", stack.today()
    )
    result = stack.run_pass()
    steps = _last_run_steps(stack)
    assert [s["name"] for s in steps] == [
        "reference",
        "push",
        "backsync",
        "cancellations",
        "failed-count",
    ]
    reference, push, backsync, cancellations, failed_count = steps
    # connection add imported the reference data just now: the step has nothing to do
    assert (reference["status"], reference["xero_calls"], reference["counts"]) == (
        "succeeded",
        0,
        {},
    )
    assert push["counts"]["created"] == 3
    assert push["xero_calls"] + backsync["xero_calls"] == result.xero_calls
    assert push["xero_calls"] > 0 and backsync["counts"]["amount-due"] == 3
    # nothing cancelled: one read of Dynamics' change feed, nothing asked of Xero
    assert (cancellations["xero_calls"], cancellations["dataverse_calls"]) == (0, 1)
    # the failed count: one GET with $count, nothing asked of Xero
    assert (failed_count["xero_calls"], failed_count["dataverse_calls"]) == (0, 1)
    assert sum(s["dataverse_calls"] for s in steps) == result.dataverse_calls


def _failed_in_dynamics(stack: Stack) -> int:
    return len(stack.rows("dxc_xerodetails", f"dxc_exportstatus eq {FAILED}", "dxc_xerodetailid"))


def test_the_failed_count_is_what_dynamics_holds_not_what_the_pass_failed(stack: Stack) -> None:
    create_sample_invoices(
        stack.dataverse, stack.connection.dataverse_connection_row_id or "", stack.today()
    )
    first = stack.run_pass()
    failed = _failed_in_dynamics(stack)
    assert failed >= 1 and first.report.count("failed") == failed
    # The next pass does not read the Failed invoices again: it fails none, and counts them all.
    dataverse, xero = stack.dataverse_app.state.emulator.calls, stack.xero.emulator.calls
    dataverse.clear()
    xero.clear()
    second = stack.run_pass()
    assert second.report.count("failed") == 0
    with stack.runtime.sessions() as session:
        run = runs.recent_runs(session, stack.connection.id, limit=1)[0]
        assert (run.invoices_failed, run.failed_in_dynamics) == (0, failed)
    # What the emulators counted is what the run says it cost, the count's one call included,
    # and the one beside the steps that clears the first pass's message on dxc_connection.
    counts = dataverse.snapshot()
    assert counts["PATCH /api/data/v9.2/dxc_connections({key})"] == 1
    assert second.dataverse_beside == 1
    assert dataverse.total("/api/data") == second.dataverse_calls
    assert xero.total("/api.xro") == second.xero_calls
    counted = second.step("failed-count")
    assert counted is not None and (counted.dataverse_calls, counted.xero_calls) == (1, 0)
    assert counted.report.counts == {FAILED_COUNT: failed}

    # Set back to No in Dynamics: no longer counted (the next push tries it again).
    [detail] = stack.rows("dxc_xerodetails", f"dxc_exportstatus eq {FAILED}", "dxc_xerodetailid")[
        :1
    ]
    stack.dataverse.update("dxc_xerodetails", detail["dxc_xerodetailid"], {"dxc_exportstatus": NO})
    dataverse.clear()
    row_id = stack.connection.dataverse_connection_row_id or ""
    gateway = DynamicsGateway(stack.dataverse, row_id)
    assert FailedCount(gateway).run().counts == {FAILED_COUNT: failed - 1}
    assert dataverse.snapshot() == {"GET /api/data/v9.2/invoices": 1}


def test_a_tax_rate_added_in_xero_reaches_dynamics_within_the_hour(stack: Stack) -> None:
    books = stack.xero.emulator.demo
    with stack.xero.emulator.lock:  # as if someone added it in Xero's settings
        books.tax_rates["TAX001"] = {
            **books.tax_rates["OUTPUT2"],
            "Name": "Reduced Rate 5%",
            "TaxType": "TAX001",
            "EffectiveRate": Decimal(5),
            "DisplayTaxRate": Decimal(5),
        }
    stack.run_pass()
    assert stack.rows("dxc_taxtypes", "dxc_taxtypecode eq 'TAX001'") == []  # imported just now

    _age_reference_mark(stack, timedelta(minutes=61))
    stack.run_pass()
    rows = stack.rows("dxc_taxtypes", "dxc_taxtypecode eq 'TAX001'")
    assert [r["dxc_name"] for r in rows] == ["Reduced Rate 5%"]
    assert _last_run_steps(stack)[0]["counts"]["imported"] == 3  # three tables

    stack.run_pass()  # not again until an hour has passed
    assert _last_run_steps(stack)[0]["xero_calls"] == 0


def test_a_failing_step_does_not_stop_the_others(stack: Stack) -> None:
    create_sample_invoices(
        stack.dataverse, stack.connection.dataverse_connection_row_id or "", stack.today()
    )
    _age_reference_mark(stack, timedelta(hours=2))
    plan = {"faults": [{"route": "GET /api.xro/2.0/BrandingThemes", "kind": "500", "times": 10}]}
    stack.xero.client().post("/_emulator/faults", json=plan)

    result = stack.run_pass()

    assert result.status is RunStatus.failed
    assert result.message.startswith("reference: ")
    assert result.report.count("created") == 3  # the push went ahead
    steps = {s["name"]: s for s in _last_run_steps(stack)}
    assert steps["reference"]["status"] == "failed"
    assert steps["push"]["status"] == "partial"  # one sample invoice has no price list
    with stack.runtime.sessions() as session:
        run = runs.recent_runs(session, stack.connection.id, limit=1)[0]
        assert run.status == "failed" and run.invoices_created == 3
        # the failed import is tried again at the next pass, not an hour later
        assert marks.get_mark(session, stack.connection.id, LAST_IMPORT) < datetime.now(
            UTC
        ) - timedelta(hours=1)
