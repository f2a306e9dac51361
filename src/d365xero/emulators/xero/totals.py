"""Invoice arithmetic as Xero does it (reference/xero.md §3.2):

- LineAmount = Quantity * UnitAmount * (100 - DiscountRate) / 100, or
  Quantity * UnitAmount - DiscountAmount; rounded to 2 dp.
- Tax is computed per line and rounded to 2 dp, then summed ("rounding in Xero":
  developer.xero.com/documentation/guides/how-to-guides/rounding-in-xero).
- Exclusive: Total = SubTotal + TotalTax. Inclusive: the line amounts include tax, so
  SubTotal = Total - TotalTax. NoTax: no tax at all.

Midpoints round away from zero (ROUND_HALF_UP on the magnitude), as Xero's invoices show.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def money(value: Decimal) -> Decimal:
    return to_dp(value, 2)


def to_dp(value: Decimal, dp: int) -> Decimal:
    with localcontext() as context:
        # Room for every digit the result keeps, however large the value (a fuzzed 1e300 unit
        # price times a quantity): quantize raises InvalidOperation past the precision.
        context.prec = max(60, value.adjusted() + dp + 2) if value.is_finite() else 60
        return value.quantize(Decimal(1).scaleb(-dp), rounding=ROUND_HALF_UP)


def line_amount(
    quantity: Decimal,
    unit_amount: Decimal,
    discount_rate: Decimal | None = None,
    discount_amount: Decimal | None = None,
) -> Decimal:
    gross = quantity * unit_amount
    if discount_rate:
        return money(gross * (HUNDRED - discount_rate) / HUNDRED)
    if discount_amount:
        return money(gross - discount_amount)
    return money(gross)


def line_tax(amount: Decimal, rate_percent: Decimal, line_amount_types: str) -> Decimal:
    """The tax on one line, rounded to 2 dp."""
    if line_amount_types == "NoTax" or not rate_percent:
        return Decimal("0.00")
    if line_amount_types == "Inclusive":
        return money(amount * rate_percent / (HUNDRED + rate_percent))
    return money(amount * rate_percent / HUNDRED)


@dataclass(frozen=True)
class Totals:
    sub_total: Decimal
    total_tax: Decimal
    total: Decimal


def invoice_totals(lines: list[tuple[Decimal, Decimal]], line_amount_types: str) -> Totals:
    """`lines` are (LineAmount, TaxAmount) pairs, each already rounded to 2 dp."""
    amounts = sum((amount for amount, _ in lines), Decimal("0.00"))
    tax = sum((t for _, t in lines), Decimal("0.00"))
    if line_amount_types == "Inclusive":
        return Totals(sub_total=amounts - tax, total_tax=tax, total=amounts)
    return Totals(sub_total=amounts, total_tax=tax, total=amounts + tax)
