"""Cancellations end to end: an exported invoice cancelled or deleted in Dynamics is deleted or
credited in Xero per "Create credit note automatically", and Sync History on its Xero details
(which outlive a deleted invoice) says what happened; nothing is done twice."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import structlog

from d365xero.demo import create_sample_invoices
from d365xero.solution import schema
from d365xero.sync.cancellations import DELTA_LINK
from tests.integration.conftest import Stack

SEED = "test Enrico 1"  # 1,317.60 with VAT, three lines (one a note)
AUTHORISED = schema.option_value(schema.INVOICE_STATUS, "Authorised")
CANCELED, CANCELED_STATUS = 3, 100003


def settings(stack: Stack, **changes: Any) -> None:
    [row] = stack.rows("dxc_settings", "dxc_name ne null", "dxc_settingid")
    stack.dataverse.update("dxc_settings", row["dxc_settingid"], changes)


def export(stack: Stack, *, status: int | None = None, credit_notes: bool = True) -> None:
    if status is not None:
        settings(stack, dxc_defaultinvoicestatus=status)
    settings(stack, dxc_createcreditnote=credit_notes)
    create_sample_invoices(
        stack.dataverse, stack.connection.dataverse_connection_row_id or "", stack.today()
    )
    result = stack.run_pass()
    assert result.report.count("created") == 3, result.report.outcomes


def invoice_id(stack: Stack, name: str = SEED) -> str:
    [row] = stack.rows("invoices", f"name eq '{name}'", "invoiceid")
    return str(row["invoiceid"])


def detail(stack: Stack, dynamics_id: str) -> dict[str, Any]:
    import uuid

    [row] = stack.rows(
        "dxc_xerodetails", f"dxc_xerodetailid eq {uuid.uuid5(uuid.NAMESPACE_URL, dynamics_id)}"
    )
    return row


def xero_invoice(stack: Stack, xero_id: str) -> dict[str, Any]:
    return stack.xero_get(f"Invoices/{xero_id}")["Invoices"][0]


def history(stack: Stack, detail_id: str) -> list[dict[str, Any]]:
    return stack.rows("dxc_synchistories", f"_dxc_xerodetailid_value eq {detail_id}")


def cancel(stack: Stack, dynamics_id: str) -> None:
    stack.dataverse.update(
        "invoices", dynamics_id, {"statecode": CANCELED, "statuscode": CANCELED_STATUS}
    )


def delete(stack: Stack, dynamics_id: str) -> None:
    stack.dataverse._request("DELETE", f"invoices({dynamics_id})")


def credit_notes(stack: Stack, number: str) -> list[dict[str, Any]]:
    notes = stack.xero_get("CreditNotes")["CreditNotes"]
    return [n for n in notes if n.get("Reference") == f"Cancellation of {number}"]


def pay(stack: Stack, xero_id: str, amount: Decimal) -> None:
    response = stack.xero.client().put(
        "/api.xro/2.0/Payments",
        headers=stack.xero.headers(),
        json={
            "Payments": [
                {
                    "Invoice": {"InvoiceID": xero_id},
                    "Account": {"Code": "090"},
                    "Amount": float(amount),
                    "Date": stack.today().isoformat(),
                }
            ]
        },
    )
    assert response.status_code == 200, response.text


def step(result: Any) -> Any:
    cancellations = result.step("cancellations")
    assert cancellations is not None and not cancellations.message, cancellations
    return cancellations.report


def test_a_draft_cancelled_in_dynamics_is_deleted_in_xero(stack: Stack) -> None:
    export(stack)
    dynamics_id = invoice_id(stack)
    row = detail(stack, dynamics_id)
    cancel(stack, dynamics_id)

    report = step(stack.run_pass())

    assert report.count("deleted") == 1, report.outcomes
    assert xero_invoice(stack, row["dxc_xeroinvoiceid"])["Status"] == "DELETED"
    [entry] = history(stack, row["dxc_xerodetailid"])
    assert entry["_dxc_invoiceid_value"] == dynamics_id
    assert "has been deleted in Xero" in entry["dxc_details"]
    assert detail(stack, dynamics_id)["dxc_xerostatus"] == "Deleted"
    assert step(stack.run_pass()).counts == {}  # handled once


def test_an_invoice_deleted_in_dynamics_between_two_passes(stack: Stack) -> None:
    export(stack)
    dynamics_id = invoice_id(stack)
    row = detail(stack, dynamics_id)
    delete(stack, dynamics_id)

    report = step(stack.run_pass())

    assert report.count("deleted") == 1, report.outcomes
    assert xero_invoice(stack, row["dxc_xeroinvoiceid"])["Status"] == "DELETED"
    [entry] = history(stack, row["dxc_xerodetailid"])  # on the Xero details that outlive it
    assert not entry.get("_dxc_invoiceid_value")
    assert "deleted in Dynamics" in entry["dxc_details"]
    assert step(stack.run_pass()).counts == {}


def test_an_approved_unpaid_invoice_is_credited_in_full_and_allocated(stack: Stack) -> None:
    export(stack, status=AUTHORISED)
    dynamics_id = invoice_id(stack)
    row = detail(stack, dynamics_id)
    invoice = xero_invoice(stack, row["dxc_xeroinvoiceid"])
    cancel(stack, dynamics_id)

    report = step(stack.run_pass())

    assert report.count("credited") == 1, report.outcomes
    [note] = credit_notes(stack, invoice["InvoiceNumber"])
    note = stack.xero_get(f"CreditNotes/{note['CreditNoteID']}")["CreditNotes"][0]
    assert note["Type"] == "ACCRECCREDIT" and note["Status"] == "PAID"
    assert note["Total"] == invoice["Total"] and note["CurrencyCode"] == invoice["CurrencyCode"]
    assert note["Contact"]["ContactID"] == invoice["Contact"]["ContactID"]
    assert note["LineAmountTypes"] == invoice["LineAmountTypes"]
    assert [ln["Description"] for ln in note["LineItems"]] == [
        ln["Description"] for ln in invoice["LineItems"]
    ]
    [allocation] = note["Allocations"]
    assert allocation["Invoice"]["InvoiceID"] == invoice["InvoiceID"]
    after = xero_invoice(stack, invoice["InvoiceID"])
    assert after["Status"] == "PAID" and Decimal(str(after["AmountDue"])) == 0
    [entry] = history(stack, row["dxc_xerodetailid"])
    assert note["CreditNoteNumber"] in entry["dxc_details"]
    assert "allocated to" in entry["dxc_details"]
    assert step(stack.run_pass()).counts == {}
    assert len(credit_notes(stack, invoice["InvoiceNumber"])) == 1


def test_a_part_paid_invoice_gets_an_unallocated_credit_note(stack: Stack) -> None:
    export(stack, status=AUTHORISED)
    dynamics_id = invoice_id(stack)
    row = detail(stack, dynamics_id)
    pay(stack, row["dxc_xeroinvoiceid"], Decimal("100.00"))
    cancel(stack, dynamics_id)

    report = step(stack.run_pass())

    assert report.count("credited") == 1, report.outcomes
    invoice = xero_invoice(stack, row["dxc_xeroinvoiceid"])
    [note] = credit_notes(stack, invoice["InvoiceNumber"])
    assert note["Total"] == invoice["Total"]
    assert Decimal(str(note["RemainingCredit"])) == Decimal(str(note["Total"]))  # unallocated
    assert Decimal(str(invoice["AmountDue"])) == Decimal(str(invoice["Total"])) - 100
    [entry] = history(stack, row["dxc_xerodetailid"])
    assert "must be allocated" in entry["dxc_details"]


def test_a_paid_invoice_is_left_alone(stack: Stack) -> None:
    export(stack, status=AUTHORISED)
    dynamics_id = invoice_id(stack)
    row = detail(stack, dynamics_id)
    invoice = xero_invoice(stack, row["dxc_xeroinvoiceid"])
    pay(stack, invoice["InvoiceID"], Decimal(str(invoice["Total"])))
    cancel(stack, dynamics_id)

    report = step(stack.run_pass())

    assert report.count("unchanged") == 1, report.outcomes
    assert not credit_notes(stack, invoice["InvoiceNumber"])
    [entry] = history(stack, row["dxc_xerodetailid"])
    assert entry["dxc_details"].startswith("The invoice is fully paid in Xero")


def test_without_automatic_credit_notes_a_manual_one_is_asked_for(stack: Stack) -> None:
    export(stack, status=AUTHORISED, credit_notes=False)
    dynamics_id = invoice_id(stack)
    row = detail(stack, dynamics_id)
    invoice = xero_invoice(stack, row["dxc_xeroinvoiceid"])
    cancel(stack, dynamics_id)

    report = step(stack.run_pass())

    assert report.count("attention") == 1, report.outcomes
    assert not credit_notes(stack, invoice["InvoiceNumber"])
    assert xero_invoice(stack, invoice["InvoiceID"])["Status"] == "AUTHORISED"
    [entry] = history(stack, row["dxc_xerodetailid"])
    assert "a manual credit note is needed" in entry["dxc_details"]


def test_without_automatic_credit_notes_drafts_are_still_deleted(stack: Stack) -> None:
    export(stack, credit_notes=False)
    dynamics_id = invoice_id(stack)
    row = detail(stack, dynamics_id)
    cancel(stack, dynamics_id)
    assert step(stack.run_pass()).count("deleted") == 1
    assert xero_invoice(stack, row["dxc_xeroinvoiceid"])["Status"] == "DELETED"


def test_an_invoice_already_voided_in_xero_is_only_noted(stack: Stack) -> None:
    export(stack, status=AUTHORISED)
    dynamics_id = invoice_id(stack)
    row = detail(stack, dynamics_id)
    response = stack.xero.client().post(
        f"/api.xro/2.0/Invoices/{row['dxc_xeroinvoiceid']}",
        headers=stack.xero.headers(),
        json={"Invoices": [{"InvoiceID": row["dxc_xeroinvoiceid"], "Status": "VOIDED"}]},
    )
    assert response.status_code == 200, response.text
    cancel(stack, dynamics_id)

    report = step(stack.run_pass())

    assert report.count("unchanged") == 1, report.outcomes
    [entry] = history(stack, row["dxc_xerodetailid"])
    assert "already voided in Xero" in entry["dxc_details"]


def test_an_expired_delta_link_starts_over_and_still_finds_deletions(stack: Stack) -> None:
    export(stack)
    dynamics_id = invoice_id(stack)
    row = detail(stack, dynamics_id)
    marks = stack.runtime.sessions
    from d365xero.jobs.marks import StoreMarks

    link = StoreMarks(marks, stack.connection.id).token(DELTA_LINK)
    assert link and "$deltatoken=" in link
    delete(stack, dynamics_id)
    clock = stack.dataverse.http.post(
        f"{stack.dataverse.org_url}/_emulator/clock", json={"advance_seconds": 8 * 86400}
    )
    assert clock.status_code < 300, clock.text

    with structlog.testing.capture_logs() as logs:
        report = step(stack.run_pass())

    assert any("had expired" in e["event"] for e in logs), logs
    assert report.count("deleted") == 1, report.outcomes
    assert xero_invoice(stack, row["dxc_xeroinvoiceid"])["Status"] == "DELETED"
    assert StoreMarks(marks, stack.connection.id).token(DELTA_LINK) != link


@pytest.mark.parametrize("other", ["Support renewal"])
def test_cancelling_one_invoice_leaves_the_others(stack: Stack, other: str) -> None:
    export(stack)
    cancel(stack, invoice_id(stack))
    step(stack.run_pass())
    row = detail(stack, invoice_id(stack, other))
    assert xero_invoice(stack, row["dxc_xeroinvoiceid"])["Status"] == "DRAFT"
