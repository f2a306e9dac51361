"""Editing Connector Settings: the form's checks, and the three-way merge where Dynamics
wins."""

from __future__ import annotations

from d365xero.domain.settings_edit import FIELDS, AccountChoice, merge, validate

ACCOUNTS = {"a-200": AccountChoice("a-200", "200", "Sales")}
GOOD = {
    "use_xero_invoice_number": "Yes",
    "create_contacts": "No",
    "create_products": "Yes",
    "default_status": "Submitted",
    "default_sales_account": "a-200",
    "default_purchase_account": "a-200",
    "create_credit_note": "No",
    "timezone": "Europe/London",
}


def test_a_good_form_gives_its_values() -> None:
    values, errors = validate({**GOOD, "csrf_token": "x"}, ACCOUNTS, {"Europe/London"})
    assert errors == {} and values == GOOD and tuple(values) == FIELDS


def test_each_bad_value_has_its_own_message() -> None:
    bad = {**GOOD, "create_products": "", "default_status": "Paid", "timezone": "Nowhere"}
    bad["default_sales_account"] = "a-999"
    _, errors = validate(bad, ACCOUNTS, {"Europe/London"})
    assert errors == {
        "create_products": "Choose Yes or No.",
        "default_status": "Choose Draft, Submitted or Authorised.",
        "default_sales_account": "Choose one of the Xero account codes listed.",
        "timezone": '"Nowhere" is not a time zone name; use one like Europe/London or '
        "America/New_York.",
    }
    _, errors = validate(GOOD, {}, {"Europe/London"})
    assert "import Account Codes" in errors["default_purchase_account"]


def test_the_merge_writes_the_portals_changes_and_keeps_dynamics() -> None:
    base = {"a": "1", "b": "1", "c": "1", "d": "1"}
    mine = {"a": "2", "b": "1", "c": "2", "d": "3"}  # changed a, c, d
    theirs = {"a": "1", "b": "5", "c": "2", "d": "4"}  # changed b, c (same as mine), d
    result = merge(base, mine, theirs)
    assert result.write == {"a": "2"}  # only the portal changed it
    assert result.conflicts == {"d": "4"}  # both changed it differently: Dynamics' value
