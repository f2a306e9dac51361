"""The Xero emulator's rules in-process: arithmetic, the `where` language, invoices, contacts."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from d365xero.emulators.xero.books import Books
from d365xero.emulators.xero.errors import QueryParseException
from d365xero.emulators.xero.totals import invoice_totals, line_amount, line_tax
from d365xero.emulators.xero.where import compile_where

D = Decimal


def _books() -> Books:
    return Books(
        "tenant", "Demo Company (UK)", "!aB1cD", lambda: datetime(2026, 11, 25, tzinfo=UTC)
    )


def _line(desc: str, qty: str, unit: str, **extra: object) -> dict[str, object]:
    return {"Description": desc, "Quantity": qty, "UnitAmount": unit, "AccountCode": "200", **extra}


# --- totals ------------------------------------------------------------------------------------


def test_worked_example_exclusive() -> None:
    lines = [(line_amount(D(3), D("300.00")), None), (line_amount(D(2), D("99.00")), None)]
    pairs = [(amount, line_tax(amount, D(20), "Exclusive")) for amount, _ in lines]
    totals = invoice_totals(pairs, "Exclusive")
    assert (totals.sub_total, totals.total_tax, totals.total) == (
        D("1098.00"),
        D("219.60"),
        D("1317.60"),
    )


def test_tax_is_rounded_per_line_then_summed() -> None:
    # Three lines of 0.03 at 20%: 0.006 a line rounds to 0.01, so 0.03 in all, where taxing the
    # sum (0.09 * 20% = 0.018) would give 0.02.
    amounts = [D("0.03")] * 3
    pairs = [(a, line_tax(a, D(20), "Exclusive")) for a in amounts]
    assert [t for _, t in pairs] == [D("0.01")] * 3
    assert invoice_totals(pairs, "Exclusive").total_tax == D("0.03")
    assert (sum(amounts) * D("0.2")).quantize(D("0.01")) == D("0.02")


def test_inclusive_tax_is_the_tax_fraction_of_the_line() -> None:
    assert line_tax(D("120.00"), D(20), "Inclusive") == D("20.00")
    totals = invoice_totals([(D("120.00"), D("20.00"))], "Inclusive")
    assert (totals.sub_total, totals.total) == (D("100.00"), D("120.00"))


def test_discounts() -> None:
    assert line_amount(D(3), D("10.00"), discount_rate=D("12.5")) == D("26.25")
    assert line_amount(D(3), D("10.00"), discount_amount=D("5")) == D("25.00")
    assert line_amount(D("1.5"), D("3.33")) == D("5.00")  # 4.995 rounds half up


# --- where -------------------------------------------------------------------------------------


RESOURCE = {
    "Name": "Bayside Club",
    "Status": "AUTHORISED",
    "Total": 12.5,
    "Contact": {"ContactID": "AB12-cd"},
    "Date": "/Date(1767225600000+0000)/",  # 2026-01-01
    "IsCustomer": True,
}


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ('Name=="Bayside Club"', True),
        ('Name=="bayside club"', True),
        ('Name!="Bayside Club"', False),
        ('Status=="AUTHORISED" AND Total>10', True),
        ('Status=="DRAFT" OR Total>=12.5', True),
        ('Status=="DRAFT" && Total<12.5', False),
        ('Contact.ContactID==Guid("ab12-CD")', True),
        ("Date>=DateTime(2026,01,01)", True),
        ("Date>DateTime(2026,01,01)", False),
        ('Name.Contains("Club")', True),
        ('Name.StartsWith("bay")', True),
        ('Name.EndsWith("xyz")', False),
        ('NOT (Name=="x")', True),
        ("IsCustomer==true", True),
        ("Reference==null", True),
        ('Name.ToLower()=="bayside club"', True),
    ],
)
def test_where_language(expr: str, expected: bool) -> None:
    predicate = compile_where(expr)
    assert predicate is not None
    assert bool(predicate(RESOURCE)) is expected


@pytest.mark.parametrize(
    "expr",
    [
        'Name=="x',
        "Name==",
        "(Name==1",
        'Name.Foo("x")',
        "Name @ 1",
        "(" * 100 + 'Name=="x"' + ")" * 100,
        "Date>DateTime(99999999999999999999,1,1)",
    ],
)
def test_where_syntax_errors(expr: str) -> None:
    with pytest.raises(QueryParseException):
        compile_where(expr)


# --- invoices ----------------------------------------------------------------------------------


def test_invoice_rules_in_process() -> None:
    books = _books()
    [ok, missing_contact, no_lines] = books.save_invoices(
        [
            {"Type": "ACCREC", "Contact": {"Name": "A"}, "LineItems": [_line("x", "1", "10")]},
            {"Type": "ACCREC", "LineItems": [_line("x", "1", "10")]},
            {"Type": "ACCREC", "Contact": {"Name": "A"}, "LineItems": []},
        ],
        create_only=True,
    )
    assert ok.ok and ok.resource is not None
    assert ok.resource["Total"] == D("12.00")
    assert missing_contact.errors == ["A Contact must be specified for this type of transaction"]
    assert no_lines.errors == ["One or more line items must be specified"]


def test_unitdp_four_keeps_four_decimals() -> None:
    books = _books()
    [outcome] = books.save_invoices(
        [{"Type": "ACCREC", "Contact": {"Name": "A"}, "LineItems": [_line("x", "3", "1.2345")]}],
        create_only=True,
        unitdp=4,
    )
    assert outcome.resource is not None
    line = outcome.resource["LineItems"][0]
    assert (line["UnitAmount"], line["LineAmount"]) == (D("1.2345"), D("3.70"))
    [rounded] = books.save_invoices(
        [{"Type": "ACCREC", "Contact": {"Name": "A"}, "LineItems": [_line("x", "3", "1.2345")]}],
        create_only=True,
    )
    assert rounded.resource is not None
    assert rounded.resource["LineItems"][0]["UnitAmount"] == D("1.23")


def test_status_machine_on_update() -> None:
    books = _books()
    [draft] = books.save_invoices(
        [{"Type": "ACCREC", "Contact": {"Name": "A"}, "LineItems": [_line("x", "1", "10")]}],
        create_only=True,
    )
    assert draft.resource is not None
    invoice_id = draft.resource["InvoiceID"]

    def move(status: str) -> list[str]:
        [outcome] = books.save_invoices(
            [{"InvoiceID": invoice_id, "Status": status}], create_only=False
        )
        return outcome.errors

    assert move("VOIDED") == ["Only AUTHORISED invoices can be voided."]
    assert move("AUTHORISED") == []
    assert move("DELETED") == ["Only DRAFT or SUBMITTED invoices can be deleted."]
    assert move("PAID") == [
        "Invoice status cannot be set to PAID; it is paid by applying payments."
    ]
    assert move("VOIDED") == []
    assert books.invoices.invoices[invoice_id]["AmountDue"] == D("0.00")
    assert move("AUTHORISED") == ["Invoice not of valid status for modification"]


def test_contact_rules_in_process() -> None:
    books = _books()
    [a, dup, bad] = books.save_contacts(
        [{"Name": "A"}, {"Name": "a"}, {"Name": ""}], create_only=True
    )
    assert a.ok
    assert "already assigned to another contact" in dup.errors[0]
    assert bad.errors == ["The contact name must be specified."]
    books.save_contacts([{"Name": "A", "ContactStatus": "ARCHIVED"}], create_only=False)
    [again] = books.save_contacts([{"Name": "A"}], create_only=True)
    assert again.ok  # names are unique among active contacts only


def test_seed_loads_sample_data_once() -> None:
    books = _books()
    counts = books.seed()
    assert counts["items"] == 3 and counts["contacts"] == 3 and counts["invoices"] == 3
    assert counts["payments"] == 1
    bayside = books.contacts.by_name("Bayside Club")
    assert bayside is not None
    receivable = books.balances(bayside["ContactID"])["AccountsReceivable"]
    assert receivable["Outstanding"] == D("1240.00")  # 1440.00 less 200.00 paid
    assert books.seed()["invoices"] == 0


@pytest.mark.parametrize("quantity", ["1e30", "1e400", 1e300, "NaN", "-Infinity"])
def test_out_of_range_numbers_are_validation_errors(quantity: object) -> None:
    [outcome] = _books().save_invoices(
        [
            {
                "Type": "ACCREC",
                "Contact": {"Name": "A"},
                "LineItems": [{"Description": "x", "Quantity": quantity, "UnitAmount": 1}],
            }
        ],
        create_only=True,
    )
    assert outcome.errors == ["Quantity must be a number."]
