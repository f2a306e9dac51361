"""Xero reference data as JSON text, so that a cache can keep it outside the process."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from d365xero.sync.ports import (
    Account,
    BrandingTheme,
    Organisation,
    ReferenceData,
    TaxRate,
    TrackingCategory,
)


def encode(value: Organisation | ReferenceData | frozenset[str]) -> str:
    if isinstance(value, Organisation):
        return json.dumps(
            {
                "organisation": {
                    "name": value.name,
                    "short_code": value.short_code,
                    "base_currency": value.base_currency,
                    "currencies": sorted(value.currencies),
                }
            }
        )
    if isinstance(value, ReferenceData):
        return json.dumps(
            {
                "reference": {
                    "tax_rates": [
                        {
                            **vars(r),
                            "rate": str(r.rate),
                            "can_apply_to": None
                            if r.can_apply_to is None
                            else sorted(r.can_apply_to),
                        }
                        for r in value.tax_rates
                    ],
                    "accounts": [vars(a) for a in value.accounts],
                    "branding_themes": [vars(t) for t in value.branding_themes],
                    "tracking_categories": [
                        {"name": c.name, "options": list(c.options)}
                        for c in value.tracking_categories
                    ],
                }
            }
        )
    return json.dumps({"items": sorted(value)})


def decode(text: str) -> Organisation | ReferenceData | frozenset[str]:
    data: dict[str, Any] = json.loads(text)
    if "organisation" in data:
        o = data["organisation"]
        return Organisation(
            o["name"], o["short_code"], o["base_currency"], frozenset(o["currencies"])
        )
    if "reference" in data:
        r = data["reference"]
        return ReferenceData(
            tax_rates=tuple(
                TaxRate(
                    **{
                        **t,
                        "rate": Decimal(t["rate"]),
                        "can_apply_to": None
                        if t["can_apply_to"] is None
                        else frozenset(t["can_apply_to"]),
                    }
                )
                for t in r["tax_rates"]
            ),
            accounts=tuple(Account(**a) for a in r["accounts"]),
            branding_themes=tuple(BrandingTheme(**t) for t in r["branding_themes"]),
            tracking_categories=tuple(
                TrackingCategory(c["name"], tuple(c["options"])) for c in r["tracking_categories"]
            ),
        )
    return frozenset(data["items"])
