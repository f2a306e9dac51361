"""A pass is a sequence of steps: each recorded on the run with what it did and cost; one that
fails does not stop the others; reference data stays fresh without a button."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from d365xero.demo import create_sample_invoices
from d365xero.store import marks, runs
from d365xero.store.models import RunStatus
from d365xero.sync.reference import LAST_IMPORT
from tests.integration.conftest import Stack


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
    assert [s["name"] for s in steps] == ["reference", "push", "backsync", "cancellations"]
    reference, push, backsync, cancellations = steps
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
    assert sum(s["dataverse_calls"] for s in steps) == result.dataverse_calls


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
