from datetime import date
from decimal import Decimal

from d365xero.domain.readiness import Verdict, assess
from d365xero.domain.records import Customer, ExportStatus, Invoice, InvoiceLine, XeroLink

TODAY = date(2026, 11, 25)


def invoice(**changes: object) -> Invoice:
    base: dict[str, object] = {
        "id": "inv-1",
        "name": "test Enrico 1",
        "number": "INV-00074",
        "description": "ygtbebf",
        "customer": Customer("account", "acc-1", "A. Datum Corporation (sample)"),
        "has_price_list": True,
        "currency": "GBP",
        "date_delivered": TODAY,
        "due_date": date(2026, 12, 25),
        "lines": (InvoiceLine("l1", "Test line 1", Decimal(3), Decimal(300)),),
    }
    base.update(changes)
    return Invoice(**base)  # type: ignore[arg-type]


def test_a_complete_invoice_due_today_is_ready() -> None:
    assert assess(invoice(), TODAY).verdict is Verdict.READY


def test_date_delivered_in_the_future_waits() -> None:
    assert assess(invoice(date_delivered=date(2026, 11, 26)), TODAY).verdict is Verdict.WAIT


def test_each_missing_field_is_named() -> None:
    result = assess(invoice(customer=None, has_price_list=False, lines=()), TODAY)
    assert result.verdict is Verdict.FAILED
    assert len(result.problems) == 3
    assert "Customer" in result.problems[0]
    assert "Price List" in result.problems[1]
    assert "product lines" in result.problems[2]


def test_missing_date_delivered_fails_with_its_name() -> None:
    result = assess(invoice(date_delivered=None), TODAY)
    assert result.verdict is Verdict.FAILED
    assert "Date Delivered" in result.message


def test_exported_and_failed_invoices_are_left_alone_until_reset_to_no() -> None:
    for status, verdict in [
        (ExportStatus.YES, Verdict.DONE),
        (ExportStatus.FAILED, Verdict.DONE),
        (ExportStatus.NO, Verdict.READY),
    ]:
        link = XeroLink("d1", status)
        assert assess(invoice(xero=link), TODAY).verdict is verdict
