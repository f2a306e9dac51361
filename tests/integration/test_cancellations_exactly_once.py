"""Never twice, for cancellations: the connector killed with SIGKILL at each Xero write of the
cancellations step (before and after it is sent) and after its write-back; the next pass ends
with exactly one deletion or one allocated credit note, and one Sync History record."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Stack
from tests.integration.test_cancellations import (
    AUTHORISED,
    cancel,
    credit_notes,
    delete,
    detail,
    export,
    history,
    invoice_id,
    step,
    xero_invoice,
)

DELETE_STEPS = ["deletes-begun", "deletes-sent", "cancellations-written-back"]
CREDIT_STEPS = [
    "credit-notes-begun",
    "credit-notes-sent",
    "allocation-begun",
    "allocation-sent",
    "cancellations-written-back",
]


@pytest.mark.slow
@pytest.mark.parametrize("checkpoint", DELETE_STEPS)
def test_killed_while_deleting_a_draft_deletes_it_once(stack: Stack, checkpoint: str) -> None:
    export(stack)
    dynamics_id = invoice_id(stack)
    row = detail(stack, dynamics_id)
    delete(stack, dynamics_id)  # deleted in Dynamics between two passes

    stack.crash_pass(checkpoint)
    stack.run_pass()

    assert xero_invoice(stack, row["dxc_xeroinvoiceid"])["Status"] == "DELETED"
    [entry] = history(stack, row["dxc_xerodetailid"])
    assert "has been deleted in Xero" in entry["dxc_details"], entry
    assert step(stack.run_pass()).counts == {}
    assert len(history(stack, row["dxc_xerodetailid"])) == 1


@pytest.mark.slow
@pytest.mark.parametrize("checkpoint", CREDIT_STEPS)
def test_killed_while_crediting_makes_one_credit_note_allocated_once(
    stack: Stack, checkpoint: str
) -> None:
    export(stack, status=AUTHORISED)
    dynamics_id = invoice_id(stack)
    row = detail(stack, dynamics_id)
    number = xero_invoice(stack, row["dxc_xeroinvoiceid"])["InvoiceNumber"]
    cancel(stack, dynamics_id)

    stack.crash_pass(checkpoint)
    stack.run_pass()

    [note] = credit_notes(stack, number)
    note = stack.xero_get(f"CreditNotes/{note['CreditNoteID']}")["CreditNotes"][0]
    assert len(note["Allocations"]) == 1, note["Allocations"]
    assert xero_invoice(stack, row["dxc_xeroinvoiceid"])["Status"] == "PAID"
    [entry] = history(stack, row["dxc_xerodetailid"])
    assert note["CreditNoteNumber"] in entry["dxc_details"] and "allocated" in entry["dxc_details"]
    assert step(stack.run_pass()).counts == {}
    assert len(credit_notes(stack, number)) == 1


def test_lost_replies_from_xero_are_replayed_not_repeated(stack: Stack) -> None:
    export(stack, status=AUTHORISED)
    dynamics_id = invoice_id(stack)
    row = detail(stack, dynamics_id)
    number = xero_invoice(stack, row["dxc_xeroinvoiceid"])["InvoiceNumber"]
    cancel(stack, dynamics_id)
    # The route matches its sub-paths too: the credit note's PUT, then its allocation's.
    fault = {"route": "PUT /api.xro/2.0/CreditNotes", "kind": "lost", "times": 2}
    plan = {"seed": 1, "faults": [fault]}
    assert stack.xero.client().post("/_emulator/faults", json=plan).status_code < 300

    assert step(stack.run_pass()).count("credited") == 1

    faults = stack.xero.client().get("/_emulator/faults").json()
    assert [f["hits"] for f in faults["faults"]] == [2], faults
    [note] = credit_notes(stack, number)
    note = stack.xero_get(f"CreditNotes/{note['CreditNoteID']}")["CreditNotes"][0]
    assert len(note["Allocations"]) == 1
