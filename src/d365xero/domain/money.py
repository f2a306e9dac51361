"""Money as Xero rounds it: amounts to 2 dp, unit prices to 2 or 4 dp, half away from zero."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
UNIT_4DP = Decimal("0.0001")


def round2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def unit_amount(value: Decimal) -> Decimal:
    """A unit price at 2 dp when that loses nothing, else at 4 dp (sent with unitdp=4)."""
    if value == round2(value):
        return round2(value)
    return value.quantize(UNIT_4DP, rounding=ROUND_HALF_UP)


def needs_4dp(values: list[Decimal]) -> bool:
    return any(v != round2(v) for v in values)
