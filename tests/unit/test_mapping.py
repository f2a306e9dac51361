from datetime import date
from decimal import Decimal

from d365xero.domain import mapping
from d365xero.domain.money import needs_4dp, unit_amount
from d365xero.domain.records import (
    ConnectorSettings,
    Customer,
    Invoice,
    InvoiceLine,
    InvoiceType,
    XeroStatus,
)

SETTINGS = ConnectorSettings(
    use_xero_invoice_number=False,
    default_status=XeroStatus.AUTHORISED,
    default_sales_account="200",
    default_purchase_account="429",
)

SEED_LINES = (
    InvoiceLine("l1", "Test line 1 Here are some stuff", Decimal(3), Decimal("300.00"), sequence=1),
    InvoiceLine("l2", "This is just a great comment", Decimal(0), Decimal(0), sequence=2),
    InvoiceLine(
        "l3",
        "CRM Online: Enterprise (sample)",
        Decimal(2),
        Decimal("99.00"),
        is_write_in=False,
        product_id="p1",
        product_number="CRM-ENT",
        product_name="CRM Online: Enterprise (sample)",
        sequence=3,
        tax_type="OUTPUT2",
        account_code="260",
        tracking=("Region: North", "not a pair", "Dept: Sales"),
    ),
)


def seed_invoice(**changes: object) -> Invoice:
    base: dict[str, object] = {
        "id": "inv-1",
        "name": "test Enrico 1",
        "number": "INV-00074-Q5M5H0",
        "description": "ygtbebf",
        "customer": Customer("account", "acc-1", " A. Datum Corporation (sample) "),
        "has_price_list": True,
        "currency": "GBP",
        "date_delivered": date(2018, 2, 2),
        "due_date": date(2018, 2, 3),
        "lines": SEED_LINES,
        "url": "https://org.example/main.aspx?id=inv-1",
    }
    base.update(changes)
    return Invoice(**base)  # type: ignore[arg-type]


def test_the_seed_invoice_maps_line_by_line() -> None:
    draft = mapping.invoice_draft(seed_invoice(), SETTINGS, "contact-1", frozenset({"CRM-ENT"}))
    assert draft.type == "ACCREC"
    assert draft.contact_id == "contact-1"
    assert draft.contact_name == "A. Datum Corporation (sample)"
    assert draft.invoice_number == "INV-00074-Q5M5H0"
    assert draft.reference == "ygtbebf"
    assert draft.status is XeroStatus.AUTHORISED
    assert draft.url == "https://org.example/main.aspx?id=inv-1"
    write_in, note, product = draft.lines
    assert (write_in.quantity, write_in.unit_amount, write_in.item_code) == (
        Decimal(3),
        Decimal("300.00"),
        None,
    )
    assert write_in.account_code == "200"  # the default sales account
    assert note.is_note and note.description == "This is just a great comment"
    assert product.item_code == "CRM-ENT"
    assert product.account_code == "260"  # the line's own account wins
    assert product.tax_type == "OUTPUT2"
    assert product.tracking == (("Region", "North"),)  # two at most, and only real pairs


def test_xero_numbering_leaves_the_number_out() -> None:
    settings = ConnectorSettings(use_xero_invoice_number=True)
    assert mapping.invoice_draft(seed_invoice(), settings, "c").invoice_number is None


def test_an_unknown_item_code_is_left_off_the_line() -> None:
    draft = mapping.invoice_draft(seed_invoice(), SETTINGS, "c", frozenset())
    assert draft.lines[2].item_code is None


def test_purchase_invoices_are_bills_with_the_purchase_account_and_no_reference() -> None:
    draft = mapping.invoice_draft(
        seed_invoice(invoice_type=InvoiceType.PURCHASE), SETTINGS, "c", frozenset()
    )
    assert draft.type == "ACCPAY"
    assert draft.reference is None
    assert draft.lines[0].account_code == "429"


def test_items_only_for_existing_products() -> None:
    assert mapping.item_draft(SEED_LINES[0]) is None
    item = mapping.item_draft(SEED_LINES[2])
    assert item is not None
    assert (item.code, item.name, item.unit_price) == (
        "CRM-ENT",
        "CRM Online: Enterprise (sample)",
        Decimal("99.00"),
    )


def test_unit_amounts_keep_four_places_only_when_needed() -> None:
    assert unit_amount(Decimal("12.5")) == Decimal("12.50")
    assert unit_amount(Decimal("1.23456")) == Decimal("1.2346")
    assert needs_4dp([Decimal("1.00"), Decimal("0.125")])
    assert not needs_4dp([Decimal("1.10")])
