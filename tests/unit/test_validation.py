"""Pre-flight validation: each rule refuses what Xero would refuse, and lets the seed through."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from d365xero.domain import mapping
from d365xero.domain.mapping import ItemDraft
from d365xero.domain.records import (
    Address,
    ConnectorSettings,
    Customer,
    ExportStatus,
    Invoice,
    InvoiceLine,
    InvoiceType,
    XeroLink,
    XeroStatus,
)
from d365xero.domain.validation import (
    XeroCatalog,
    build_catalog,
    contact_problems,
    item_problems,
    missing_contact_problem,
    preflight,
)
from d365xero.sync.ports import Account, Organisation, ReferenceData, TaxRate, TrackingCategory

REVENUE_ONLY = frozenset({"ASSET", "EQUITY", "LIABILITY", "REVENUE"})
EXPENSE_ONLY = frozenset({"ASSET", "EQUITY", "LIABILITY", "EXPENSE"})
EVERYWHERE = frozenset({"ASSET", "EQUITY", "LIABILITY", "REVENUE", "EXPENSE"})

# A UK organisation as Xero's demo company has it (help.xero.com/uk; developer.xero.com
# taxrates "Tax Rate Constraints" for the CanApplyTo flags).
REFERENCE = ReferenceData(
    tax_rates=(
        TaxRate("OUTPUT2", "20% (VAT on Income)", Decimal(20), "ACTIVE", REVENUE_ONLY),
        TaxRate("INPUT2", "20% (VAT on Expenses)", Decimal(20), "ACTIVE", EXPENSE_ONLY),
        TaxRate("NONE", "No VAT", Decimal(0), "ACTIVE", EVERYWHERE),
        TaxRate("OLDVAT", "17.5% (VAT on Income)", Decimal("17.5"), "ARCHIVED", REVENUE_ONLY),
        TaxRate("TAX001", "Custom", Decimal(3), "ACTIVE", None),
    ),
    accounts=(
        Account("a200", "200", "Sales", "REVENUE", "OUTPUT2", "ACTIVE", "REVENUE"),
        Account("a260", "260", "Other Revenue", "REVENUE", "OUTPUT2", "ACTIVE", "REVENUE"),
        Account("a429", "429", "General Expenses", "OVERHEADS", "INPUT2", "ACTIVE", "EXPENSE"),
        Account("a210", "210", "Old Sales", "REVENUE", "OUTPUT2", "ARCHIVED", "REVENUE"),
        Account(
            "a610", "610", "Accounts Receivable", "CURRENT", "NONE", "ACTIVE", "ASSET", "DEBTORS"
        ),
        Account("bank", None, "Petty cash", "BANK", "NONE", "ACTIVE", "ASSET"),
    ),
    branding_themes=(),
    tracking_categories=(
        TrackingCategory("Region", ("North", "South", "West Coast")),
        TrackingCategory("Dept", ("Sales",)),
    ),
)
ORGANISATION = Organisation("Demo Company (UK)", "!aB1cD", "GBP", frozenset({"EUR"}))
CATALOG = build_catalog(
    ORGANISATION,
    REFERENCE,
    archived_contact_names=["Old Customer Ltd"],
    used_invoice_numbers=["INV-0001"],
    item_codes=["CRM-ENT"],
)
SETTINGS = ConnectorSettings(
    use_xero_invoice_number=False,
    default_status=XeroStatus.AUTHORISED,
    default_sales_account="200",
    default_purchase_account="429",
)

# The seed's worked example (issue 6): a write-in, a note and an existing product, 20% VAT.
WRITE_IN = InvoiceLine(
    "l1",
    "Test line 1 Here are some stuff",
    Decimal(3),
    Decimal("300.00"),
    sequence=1,
    tax_type="OUTPUT2",
)
NOTE = InvoiceLine("l2", "This is just a great comment", Decimal(0), Decimal(0), sequence=2)
PRODUCT = InvoiceLine(
    "l3",
    "CRM Online: Enterprise (sample)",
    Decimal(2),
    Decimal("99.00"),
    is_write_in=False,
    product_id="p1",
    product_number="CRM-ENT",
    product_name="CRM Online: Enterprise (sample)",
    tax_type="OUTPUT2",
    sequence=3,
)
CUSTOMER = Customer("account", "acc-1", "A. Datum Corporation (sample)")


def seed_invoice(**changes: object) -> Invoice:
    base: dict[str, object] = {
        "id": "inv-1",
        "name": "test Enrico 1",
        "number": "INV-00074-Q5M5H0",
        "description": "ygtbebf",
        "customer": CUSTOMER,
        "has_price_list": True,
        "currency": "GBP",
        "date_delivered": date(2018, 2, 2),
        "due_date": date(2018, 2, 3),
        "lines": (WRITE_IN, NOTE, PRODUCT),
    }
    base.update(changes)
    return Invoice(**base)  # type: ignore[arg-type]


def check(
    invoice: Invoice | None = None,
    settings: ConnectorSettings = SETTINGS,
    catalog: XeroCatalog = CATALOG,
) -> tuple[str, ...]:
    invoice = invoice or seed_invoice()
    draft = mapping.invoice_draft(invoice, settings, "contact-1", catalog.item_codes)
    return preflight(invoice, draft, catalog)


def with_line(line: InvoiceLine, **changes: object) -> Invoice:
    return seed_invoice(lines=(line,), **changes)


def only(problems: tuple[str, ...]) -> str:
    assert len(problems) == 1, problems
    return problems[0]


def test_the_seed_invoice_passes_cleanly() -> None:
    assert check() == ()


def test_every_message_says_how_to_retry() -> None:
    bad = replace(WRITE_IN, tax_type="NOPE", account_code="999", discount_amount=Decimal(-1))
    problems = check(with_line(bad, currency="USD"))
    assert len(problems) == 4
    assert all(p.endswith("then set Export status to No to retry.") for p in problems)


# -- lines -----------------------------------------------------------------------------------


def test_a_line_dynamics_could_not_price_names_the_product_and_the_price_list() -> None:
    unpriced = replace(
        PRODUCT,
        unit_price=Decimal(0),
        pricing_error=11,
        pricing_error_label="Product Not In Price Level",
    )
    message = only(check(with_line(unpriced, price_list_name="Retail 2026")))
    assert 'Line 1 "CRM Online: Enterprise (sample)"' in message
    assert 'the product "CRM Online: Enterprise (sample)"' in message
    assert 'the price list "Retail 2026" (Product Not In Price Level)' in message
    unlabelled = only(check(with_line(replace(unpriced, pricing_error_label=None))))
    assert "(pricing error 11)" in unlabelled and '"(none)"' in unlabelled


def test_an_invoice_of_notes_only_bills_nothing() -> None:
    message = only(check(with_line(NOTE)))
    assert "only description lines" in message and "quantity and a price" in message


def test_a_note_needs_text() -> None:
    message = only(check(seed_invoice(lines=(WRITE_IN, replace(NOTE, description="  ")))))
    assert message.startswith("Line 2 has quantity 0, price 0 and no description")
    assert "Write-In Product" in message


@given(extra=st.integers(min_value=-3, max_value=3))
def test_line_descriptions_up_to_4000_characters(extra: int) -> None:
    text = "x" * (4000 + extra)
    problems = check(with_line(replace(WRITE_IN, description=text)))
    if extra <= 0:
        assert problems == ()
    else:
        message = only(problems)
        assert message.startswith('Line 1 "xxxxxxxx')
        assert f"{4000 + extra} characters" in message and "at most 4000" in message


# -- tax types and accounts ----------------------------------------------------------------------


def test_an_unknown_tax_type_is_named_with_its_line() -> None:
    message = only(check(seed_invoice(lines=(WRITE_IN, replace(PRODUCT, tax_type="OUTPUT9")))))
    assert message.startswith('Line 2 "CRM Online: Enterprise (sample)"')
    assert 'Tax type "OUTPUT9" does not exist in Xero' in message
    assert "synchronise Tax Rates" in message


def test_tax_types_match_whatever_their_case() -> None:
    assert check(with_line(replace(WRITE_IN, tax_type="output2"))) == ()


def test_an_archived_tax_type_is_refused() -> None:
    message = only(check(with_line(replace(WRITE_IN, tax_type="OLDVAT"))))
    assert '"OLDVAT" (17.5% (VAT on Income)) is archived in Xero' in message


def test_an_unknown_account_code_on_the_line() -> None:
    message = only(check(with_line(replace(WRITE_IN, account_code="999"))))
    assert 'the line\'s Account code "999" is not an account in Xero' in message
    assert "pick another Account code on the line" in message


def test_an_archived_account_code() -> None:
    message = only(check(with_line(replace(WRITE_IN, account_code="210"))))
    assert '"210" (Old Sales) is archived in Xero' in message
    assert "restore the account in Xero" in message


def test_a_system_account_cannot_take_invoice_lines() -> None:
    message = only(check(with_line(replace(WRITE_IN, account_code="610", tax_type="NONE"))))
    assert '"610" (Accounts Receivable) is a Xero system account' in message


def test_an_unknown_default_account_names_the_setting() -> None:
    settings = replace(SETTINGS, default_sales_account="4000")
    problems = check(seed_invoice(), settings)
    assert len(problems) == 2  # both priced lines take the default; the note takes none
    assert all('"Default Xero sales account" "4000" is not an account' in p for p in problems)
    assert all("set the line's Account code, or change" in p for p in problems)


def test_the_purchase_default_is_named_on_bills() -> None:
    settings = replace(SETTINGS, default_purchase_account="4000")
    line = replace(WRITE_IN, tax_type="INPUT2")
    message = only(check(with_line(line, invoice_type=InvoiceType.PURCHASE), settings))
    assert '"Default Xero purchase account" "4000"' in message


def test_a_line_of_its_own_account_does_not_need_the_default() -> None:
    settings = replace(SETTINGS, default_sales_account="4000")
    assert check(with_line(replace(WRITE_IN, account_code="260")), settings) == ()


def test_no_account_at_all_is_refused_unless_draft() -> None:
    settings = replace(SETTINGS, default_sales_account=None)
    message = only(check(with_line(WRITE_IN), settings))
    assert 'no Account code and the connection has no "Default Xero sales account"' in message
    assert "authorised invoice" in message
    draft_settings = replace(settings, default_status=XeroStatus.DRAFT)
    assert check(with_line(WRITE_IN), draft_settings) == ()


def test_an_item_can_bring_its_own_account() -> None:
    settings = replace(SETTINGS, default_sales_account=None)
    assert check(with_line(PRODUCT), settings) == ()  # CRM-ENT is an item in Xero


def test_an_expense_tax_type_on_a_revenue_account() -> None:
    message = only(check(with_line(replace(WRITE_IN, tax_type="INPUT2"))))
    assert 'does not allow the Tax type "INPUT2" (20% (VAT on Expenses)) on the revenue' in message
    assert '"200" (Sales)' in message
    assert "pick a Tax type meant for revenue accounts" in message


def test_an_income_tax_type_on_an_expense_account() -> None:
    line = replace(WRITE_IN, tax_type="OUTPUT2", account_code="429")
    message = only(check(with_line(line)))
    assert 'Tax type "OUTPUT2"' in message and "expense account" in message


def test_rates_that_apply_everywhere_or_unknown_flags_are_let_through() -> None:
    assert check(with_line(replace(WRITE_IN, tax_type="NONE", account_code="429"))) == ()
    assert check(with_line(replace(WRITE_IN, tax_type="TAX001", account_code="429"))) == ()


def test_a_line_without_tax_type_takes_the_account_default() -> None:
    assert check(with_line(replace(WRITE_IN, tax_type=None))) == ()


# -- amounts ------------------------------------------------------------------------------------


def test_negative_lines_are_allowed() -> None:
    refund = replace(WRITE_IN, quantity=Decimal(1), unit_price=Decimal("-50"))
    assert check(seed_invoice(lines=(WRITE_IN, refund))) == ()


@given(cents=st.integers(min_value=-2, max_value=2))
def test_a_discount_up_to_the_line_total(cents: int) -> None:
    discount = Decimal("900.00") + Decimal(cents) / 100  # the line is 3 x 300.00
    problems = check(with_line(replace(WRITE_IN, discount_amount=discount)))
    if cents <= 0:
        assert problems == ()
    else:
        assert "Manual Discount" in only(problems) and "line total 900.00" in problems[0]


def test_a_negative_discount_or_one_on_a_negative_line() -> None:
    assert "Manual Discount" in only(
        check(with_line(replace(WRITE_IN, discount_amount=Decimal(-1))))
    )
    refund = replace(
        WRITE_IN, quantity=Decimal(1), unit_price=Decimal(-50), discount_amount=Decimal(5)
    )
    assert "Manual Discount 5" in only(check(with_line(refund)))


def test_bills_take_no_discount() -> None:
    line = replace(WRITE_IN, tax_type="INPUT2", discount_amount=Decimal(10))
    message = only(check(with_line(line, invoice_type=InvoiceType.PURCHASE)))
    assert "bills (purchase invoices) take no discounts" in message
    assert "Manual Discount of 10" in message


# -- invoice header ----------------------------------------------------------------------------


def test_a_currency_the_organisation_has_not_enabled() -> None:
    message = only(check(seed_invoice(currency="USD")))
    assert "Currency USD is not enabled in the Xero organisation" in message
    assert check(seed_invoice(currency="EUR")) == ()


def test_no_currency_means_the_base_currency() -> None:
    assert check(seed_invoice(currency=None)) == ()


def test_an_invoice_number_already_in_xero() -> None:
    message = only(check(seed_invoice(number="INV-0001")))
    assert 'Invoice ID "INV-0001" is already used' in message
    assert '"Use Xero invoice number" to Yes' in message


def test_a_used_number_is_fine_when_xero_numbers_or_for_bills() -> None:
    xero_numbers = replace(SETTINGS, use_xero_invoice_number=True)
    assert check(seed_invoice(number="INV-0001"), xero_numbers) == ()
    bill_line = replace(WRITE_IN, tax_type="INPUT2")
    bill = with_line(bill_line, number="INV-0001", invoice_type=InvoiceType.PURCHASE)
    assert check(bill) == ()  # ACCPAY numbers need not be unique in Xero


def test_an_edit_keeps_its_own_number() -> None:
    link = XeroLink("d1", ExportStatus.NO, "x-1", "INV-0001", "DRAFT")
    assert check(seed_invoice(number="INV-0001", xero=link)) == ()


def test_numbers_found_for_a_page_are_added_to_the_catalog() -> None:
    page = CATALOG.with_invoice_numbers(["INV-00074-Q5M5H0"])
    assert "already used" in only(check(catalog=page))
    assert page.tracking_category("region") is not None  # the rest is kept


@given(extra=st.integers(min_value=-2, max_value=2))
def test_invoice_number_and_reference_up_to_255(extra: int) -> None:
    text = "N" * (255 + extra)
    problems = check(seed_invoice(number=text, description=text))
    if extra <= 0:
        assert problems == ()
    else:
        assert len(problems) == 2
        assert "Invoice ID is" in problems[0] and "Xero's 255" in problems[0]
        assert "Reference" in problems[1] and "shorten the Description" in problems[1]


# -- tracking -----------------------------------------------------------------------------------


def test_tracking_known_options_pass_whatever_their_case() -> None:
    line = replace(WRITE_IN, tracking=("region: west coast", "Dept: Sales"))
    assert check(with_line(line)) == ()


def test_an_unknown_tracking_category() -> None:
    message = only(check(with_line(replace(WRITE_IN, tracking=("Colour: Red",)))))
    assert '"Colour" is not an active tracking category' in message
    assert "(active: Dept, Region)" in message


def test_an_unknown_or_inactive_tracking_option() -> None:
    message = only(check(with_line(replace(WRITE_IN, tracking=("Region: Eastside",)))))
    assert '"Eastside" is not an active option of the Xero tracking category "Region"' in message


def test_a_tracking_value_that_is_not_a_pair_is_reported_not_dropped() -> None:
    message = only(check(with_line(replace(WRITE_IN, tracking=("Region: North", "Sales")))))
    assert 'Tracking option 2 "Sales" is not in the form "Category: Option"' in message


def test_more_than_two_tracking_categories() -> None:
    invoice = with_line(WRITE_IN)
    draft = mapping.invoice_draft(invoice, SETTINGS, "c", CATALOG.item_codes)
    pairs = (("Region", "North"), ("Dept", "Sales"), ("Region", "South"))
    draft = replace(draft, lines=(replace(draft.lines[0], tracking=pairs),))
    problems = preflight(invoice, draft, CATALOG)
    assert "names 3 tracking categories and Xero takes at most 2" in only(problems)


# -- contacts and items ------------------------------------------------------------------------


def test_a_customer_named_like_an_archived_contact() -> None:
    customer = Customer("account", "acc-9", " old customer ltd ")
    message = only(contact_problems(customer, CATALOG))
    assert 'The Xero contact "old customer ltd" is archived' in message
    assert "restore the contact in Xero" in message and "rename" in message
    assert "Account Name" in message


def test_a_linked_customer_is_not_matched_by_name() -> None:
    customer = Customer("contact", "c-9", "Old Customer Ltd", xero_contact_id="x-9")
    assert contact_problems(customer, CATALOG) == ()


def test_a_customer_without_a_name() -> None:
    message = only(contact_problems(Customer("contact", "c-1", "  "), CATALOG))
    assert "has no Full Name" in message


def test_the_seed_customer_is_fine() -> None:
    assert contact_problems(CUSTOMER, CATALOG) == ()


@pytest.mark.parametrize(
    ("changes", "label", "limit"),
    [
        ({"name": "n" * 256}, "Account Name", 255),
        ({"email": "e" * 256}, "Email", 255),
        ({"phone": "1" * 51}, "Main Phone", 50),
        ({"first_name": "f" * 256}, "First Name", 255),
        ({"address": Address(line1="s" * 501)}, "Address 1: Street 1", 500),
        ({"address": Address(postal_code="p" * 51)}, "Address 1: ZIP/Postal Code", 50),
        ({"address": Address(country="c" * 51)}, "Address 1: Country/Region", 50),
    ],
)
def test_contact_field_limits(changes: dict[str, object], label: str, limit: int) -> None:
    customer = replace(CUSTOMER, **changes)  # type: ignore[arg-type]
    message = only(contact_problems(customer, CATALOG))
    assert f"The customer's {label} is {limit + 1} characters long" in message
    assert f"at most {limit}" in message
    at_limit = {k: v[:limit] if isinstance(v, str) else v for k, v in changes.items()}
    if "address" not in changes:
        assert contact_problems(replace(CUSTOMER, **at_limit), CATALOG) == ()  # type: ignore[arg-type]


def test_missing_contact_names_the_setting() -> None:
    message = missing_contact_problem(CUSTOMER)
    assert '"A. Datum Corporation (sample)" is not a contact in Xero' in message
    assert '"Create new contacts" to Yes' in message


def test_item_limits() -> None:
    assert item_problems(ItemDraft("CRM-ENT", "CRM Online")) == ()
    assert item_problems(ItemDraft("C" * 30, "N" * 50, "d" * 4000)) == ()
    code, name, description = item_problems(ItemDraft("C" * 31, "N" * 51, "d" * 4001))
    assert "Product ID" in code and "at most 30" in code
    assert "Name" in name and "50" in name
    assert "4001 characters" in description


# -- the catalog -------------------------------------------------------------------------------


def test_the_catalog_from_organisation_and_reference_data() -> None:
    assert CATALOG.base_currency == "GBP"
    assert CATALOG.currencies == frozenset({"GBP", "EUR"})
    assert set(CATALOG.accounts) == {"200", "260", "429", "210", "610"}  # no code, no entry
    assert CATALOG.tax_rate("output2") is not None
    assert CATALOG.archived_contact_names == frozenset({"old customer ltd"})
    assert CATALOG.tracking["Region"] == ("North", "South", "West Coast")
