"""Dynamics 365 Sales rules that bite integrations: invoice and line pricing and totals, the
invoice state model, read-only Paid and Canceled invoices, cascade of lines.

Sources: CE:sales/developer/entities/invoice.md and invoicedetail.md (computed, not-creatable
columns; state and status pairs; "Paid and canceled invoices are read-only and can't be edited
unless they are reactivated"); reference/dataverse.md §4.
"""

from __future__ import annotations

import secrets
import string
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from d365xero.emulators.dataverse.errors import InvalidArgument, InvalidState

if TYPE_CHECKING:
    from d365xero.emulators.dataverse.models import Organisation, Row

ACTIVE, CLOSED, PAID, CANCELED = 0, 1, 2, 3
READ_ONLY_STATES = (PAID, CANCELED)
# The state a status-less state change lands in (SetState's defaults).
DEFAULT_STATUS = {ACTIVE: 1, CLOSED: 3, PAID: 100001, CANCELED: 100003}
DEFAULT_STATE: dict[str, int] = {}
# Parental relationships whose children go with the parent.
CASCADE = {"invoice": (("invoicedetail", "invoiceid"),)}

# Pricing error codes (pricingerrorcode options, CE invoicedetail.md): the ones the emulator's
# pricing sets. A line in error is priced at 0 and the invoice says Detail Error.
NO_ERROR, DETAIL_ERROR, MISSING_PRICE_LEVEL, INACTIVE_PRICE_LEVEL = 0, 1, 2, 3
MISSING_QUANTITY, PRODUCT_NOT_IN_PRICE_LEVEL = 4, 11

ZERO = Decimal(0)
CENT = Decimal("0.01")


def _money(value: Decimal | int | None) -> Decimal:
    # Money is kept at the currency's precision (2 for GBP, USD, EUR).
    return (Decimal(value) if value is not None else ZERO).quantize(CENT, ROUND_HALF_UP)


def _read_only(invoice: Row) -> InvalidState:
    return InvalidState(
        f"The invoice {invoice.get('invoicenumber')} is "
        f"{'paid' if invoice['statecode'] == PAID else 'canceled'} and can't be edited. "
        "Reactivate it (statecode 0) first."
    )


def invoice_number(org: Organisation) -> str:
    """Dynamics' auto-number shape, e.g. INV-01001-Q4S0J1."""
    org._invoice_number += 1
    tail = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(6))
    return f"INV-{org._invoice_number:05d}-{tail}"


# --- hooks called by Organisation --------------------------------------------------------------


def before_create(org: Organisation, entity: str, row: Row) -> None:
    if entity == "invoice":
        _create_invoice(org, row)
    elif entity == "invoicedetail":
        _create_line(org, row)
    elif entity == "contact" or entity == "systemuser":
        _full_name(row)


def before_update(org: Organisation, entity: str, row: Row, changes: dict[str, Any]) -> None:
    if entity == "invoice":
        _update_invoice(row, changes)
    elif entity == "invoicedetail":
        _check_parent_editable(org, row)


def after_write(org: Organisation, entity: str, row: Row) -> None:
    if entity == "invoice":
        recalculate_invoice(org, row)
        for line in org.children("invoicedetail", "invoiceid", row["invoiceid"]):
            line["invoicestatecode"] = row["statecode"]
    elif entity == "invoicedetail":
        _price_line(org, row)
        _recalculate_parent(org, row)
    elif entity in ("contact", "systemuser"):
        _full_name(row)


def before_delete(org: Organisation, entity: str, row: Row) -> None:
    if entity == "invoicedetail":
        _check_parent_editable(org, row)


def after_delete(org: Organisation, entity: str, row: Row) -> None:
    if entity == "invoicedetail":
        _recalculate_parent(org, row)


def _recalculate_parent(org: Organisation, line: Row) -> None:
    """The pricing engine updates the invoice when a line changes (an Update of the invoice)."""
    invoice = org.find("invoice", line["invoiceid"].id)
    if invoice is not None:
        org.touch("invoice", invoice, lambda: recalculate_invoice(org, invoice))


# --- invoice ---------------------------------------------------------------------------------


def _create_invoice(org: Organisation, row: Row) -> None:
    from d365xero.emulators.dataverse.models import Ref

    if not row.get("invoicenumber"):
        row["invoicenumber"] = invoice_number(org)
    if row.get("transactioncurrencyid") is None:
        currency = None
        if row.get("pricelevelid") is not None:
            price_list = org.get("pricelevel", row["pricelevelid"].id)
            currency = price_list.get("transactioncurrencyid")
        row["transactioncurrencyid"] = currency or Ref(
            "transactioncurrency", org.base_currency_id()
        )
    row["ispricelocked"] = False


def _update_invoice(row: Row, changes: dict[str, Any]) -> None:
    if "statecode" in changes and "statuscode" not in changes:
        changes["statuscode"] = DEFAULT_STATUS.get(changes["statecode"])
    if row["statecode"] in READ_ONLY_STATES:
        reactivating = changes.get("statecode") == ACTIVE
        others = set(changes) - {"statecode", "statuscode"}
        if not reactivating or others:
            raise _read_only(row)
    elif changes.get("statecode") in READ_ONLY_STATES and row["statecode"] != ACTIVE:
        raise InvalidState("Only an active invoice can be marked paid or canceled.")


def recalculate_invoice(org: Organisation, invoice: Row) -> None:
    """Totals as Dynamics' pricing engine sets them (line amounts before tax, invoice discount,
    freight, then the sum of line tax)."""
    lines = org.children("invoicedetail", "invoiceid", invoice["invoiceid"])
    detail = sum((_money(line["extendedamount"]) - _money(line["tax"]) for line in lines), ZERO)
    line_discounts = sum((_money(line["manualdiscountamount"]) for line in lines), ZERO)
    tax = sum((_money(line["tax"]) for line in lines), ZERO)
    percent = Decimal(invoice.get("discountpercentage") or 0)
    discount = _money(invoice.get("discountamount")) + _money(detail * percent / 100)
    less_freight = detail - discount
    invoice["totallineitemamount"] = _money(detail)
    invoice["totallineitemdiscountamount"] = _money(line_discounts)
    invoice["totaldiscountamount"] = _money(discount)
    invoice["totalamountlessfreight"] = _money(less_freight)
    invoice["totaltax"] = _money(tax)
    invoice["totalamount"] = _money(less_freight + _money(invoice.get("freightamount")) + tax)
    errors = any(line.get("pricingerrorcode") not in (None, NO_ERROR) for line in lines)
    invoice["pricingerrorcode"] = DETAIL_ERROR if errors else NO_ERROR


# --- invoice lines ---------------------------------------------------------------------------


def _check_parent_editable(org: Organisation, line: Row) -> None:
    invoice = org.get("invoice", line["invoiceid"].id)
    if invoice["statecode"] in READ_ONLY_STATES:
        raise _read_only(invoice)


def _create_line(org: Organisation, row: Row) -> None:
    _check_parent_editable(org, row)
    invoice = org.get("invoice", row["invoiceid"].id)
    row["transactioncurrencyid"] = invoice["transactioncurrencyid"]
    row["invoicestatecode"] = invoice["statecode"]
    if row.get("isproductoverridden") is None:
        row["isproductoverridden"] = False
    if row.get("ispriceoverridden") is None:
        row["ispriceoverridden"] = False
    if not row["isproductoverridden"]:
        # An existing product needs its product and unit (the pricing engine prices by both).
        for name, label in (("productid", "Existing Product"), ("uomid", "Unit")):
            if row.get(name) is None:
                raise InvalidArgument(
                    f"The {label} ({name}) is required for an invoice product that is not a "
                    "write-in product."
                )
        product = org.get("product", row["productid"].id)
        row["productnumber"] = product.get("productnumber")
        row["invoicedetailname"] = row.get("invoicedetailname") or product.get("name")
    else:
        row["invoicedetailname"] = row.get("invoicedetailname") or row.get("productdescription")
    if row.get("sequencenumber") is None:
        numbers = [
            other.get("sequencenumber") or 0
            for other in org.children("invoicedetail", "invoiceid", invoice["invoiceid"])
        ]
        row["sequencenumber"] = max(numbers, default=0) + 1


def _price_line(org: Organisation, row: Row) -> None:
    row["pricingerrorcode"] = NO_ERROR
    if not row["isproductoverridden"] and not row.get("ispriceoverridden"):
        # The pricing engine sets the unit price from the price list unless the price is
        # overridden; a price sent without ispriceoverridden=true is replaced.
        row["priceperunit"], row["pricingerrorcode"] = _list_price(org, row)
    if not row["isproductoverridden"] and row.get("quantity") is None:
        row["pricingerrorcode"] = row["pricingerrorcode"] or MISSING_QUANTITY
    price = _money(row.get("priceperunit"))
    quantity = Decimal(row.get("quantity") or 0)
    row["priceperunit"] = price
    row["baseamount"] = _money(price * quantity)
    row["volumediscountamount"] = ZERO
    row["extendedamount"] = _money(
        row["baseamount"] - _money(row.get("manualdiscountamount")) + _money(row.get("tax"))
    )


def _list_price(org: Organisation, line: Row) -> tuple[Decimal, int]:
    invoice = org.get("invoice", line["invoiceid"].id)
    price_list = invoice.get("pricelevelid")
    if price_list is None:
        return ZERO, MISSING_PRICE_LEVEL
    if org.get("pricelevel", price_list.id).get("statecode") not in (None, ACTIVE):
        return ZERO, INACTIVE_PRICE_LEVEL
    for item in org.rows("productpricelevel"):
        if (
            item["pricelevelid"].id == price_list.id
            and item["productid"].id == line["productid"].id
            and item["uomid"].id == line["uomid"].id
        ):
            return _money(item.get("amount")), NO_ERROR
    return ZERO, PRODUCT_NOT_IN_PRICE_LEVEL


def _full_name(row: Row) -> None:
    if "fullname" in row:
        parts = [row.get("firstname"), row.get("lastname")]
        row["fullname"] = " ".join(p for p in parts if p) or None
