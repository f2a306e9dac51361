"""Items of one organisation: unique Code, sales and purchase defaults (reference/xero.md §4)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from d365xero.emulators.xero.errors import ElementInvalid
from d365xero.emulators.xero.totals import to_dp
from d365xero.emulators.xero.wire import parse_decimal

# (account code -> exists, tax type -> exists)
Checker = Callable[[str], bool]


def _details(
    raw: Any, label: str, account_ok: Checker, tax_ok: Checker, unitdp: int
) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ElementInvalid(f"{label} must be an object.")
    details: dict[str, Any] = {}
    if raw.get("UnitPrice") is not None:
        price = parse_decimal(raw["UnitPrice"])
        if price is None:
            raise ElementInvalid(f"{label}.UnitPrice must be a number.")
        details["UnitPrice"] = to_dp(price, unitdp)
    for key in ("AccountCode", "COGSAccountCode"):
        code = raw.get(key)
        if code is None or code == "":
            continue
        if not isinstance(code, str) or not account_ok(code):
            raise ElementInvalid(f"Account code '{code}' is not a valid code for this document.")
        details[key] = code
    tax = raw.get("TaxType")
    if tax:
        if not isinstance(tax, str) or not tax_ok(tax):
            raise ElementInvalid(f"The TaxType code '{tax}' is not valid")
        details["TaxType"] = tax
    return details


class ItemBook:
    def __init__(self, account_ok: Checker, tax_ok: Checker) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.account_ok = account_ok
        self.tax_ok = tax_ok

    def get(self, item_id: str) -> dict[str, Any] | None:
        return self.items.get(item_id.lower()) if isinstance(item_id, str) else None

    def by_code(self, code: str) -> dict[str, Any] | None:
        for item in self.items.values():
            if item["Code"].lower() == code.lower():
                return item
        return None

    def find_for_update(self, data: dict[str, Any]) -> dict[str, Any] | None:
        if data.get("ItemID"):
            found = self.get(data["ItemID"])
            if found is None:
                raise ElementInvalid(f"Item with ItemID {data['ItemID']} could not be found.")
            return found
        code = data.get("Code")
        return self.by_code(code) if isinstance(code, str) else None

    def _fields(self, data: dict[str, Any], unitdp: int) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for key, limit in (("Code", 30), ("Name", 50), ("Description", 4000)):
            value = data.get(key)
            if value is None:
                continue
            if not isinstance(value, str):
                raise ElementInvalid(f"{key} must be a string.")
            if len(value) > limit:
                raise ElementInvalid(f"{key} must not be more than {limit} characters long.")
            fields[key] = value
        if isinstance(data.get("PurchaseDescription"), str):
            fields["PurchaseDescription"] = data["PurchaseDescription"]
        for key in ("IsSold", "IsPurchased"):
            if isinstance(data.get(key), bool):
                fields[key] = data[key]
        for key, label in (
            ("SalesDetails", "SalesDetails"),
            ("PurchaseDetails", "PurchaseDetails"),
        ):
            if data.get(key) is not None:
                fields[key] = _details(data[key], label, self.account_ok, self.tax_ok, unitdp)
        return fields

    def _check_code(self, code: str, own_id: str | None) -> None:
        other = self.by_code(code)
        if other and other["ItemID"] != own_id:
            raise ElementInvalid(f"Item code '{code}' already exists")

    def create(self, data: dict[str, Any], now: datetime, unitdp: int = 2) -> dict[str, Any]:
        fields = self._fields(data, unitdp)
        code = fields.get("Code", "").strip()
        if not code:
            raise ElementInvalid("Item code must be specified")
        self._check_code(code, None)
        item_id = str(uuid.uuid4())
        item: dict[str, Any] = {
            "ItemID": item_id,
            "Code": code,
            "Name": fields.get("Name", ""),
            "IsSold": True,
            "IsPurchased": True,
            "IsTrackedAsInventory": False,
            "SalesDetails": {},
            "PurchaseDetails": {},
            "UpdatedDateUTC": now,
        }
        item.update(fields)
        self._apply_flags(item)
        self.items[item_id] = item
        return item

    def update(
        self, item: dict[str, Any], data: dict[str, Any], now: datetime, unitdp: int = 2
    ) -> None:
        fields = self._fields(data, unitdp)
        if "Code" in fields:
            if not fields["Code"].strip():
                raise ElementInvalid("Item code must be specified")
            self._check_code(fields["Code"], item["ItemID"])
        item.update(fields)
        self._apply_flags(item)
        item["UpdatedDateUTC"] = now

    @staticmethod
    def _apply_flags(item: dict[str, Any]) -> None:
        # IsSold/IsPurchased false clears the matching details (Xero Items docs).
        if not item["IsSold"]:
            item["SalesDetails"] = {}
        if not item["IsPurchased"]:
            item["PurchaseDetails"] = {}

    @staticmethod
    def render(item: dict[str, Any], unitdp: int = 2) -> dict[str, Any]:
        out = dict(item)
        for key in ("SalesDetails", "PurchaseDetails"):
            details = dict(item[key])
            if isinstance(details.get("UnitPrice"), Decimal):
                details["UnitPrice"] = to_dp(details["UnitPrice"], unitdp)
            out[key] = details
        return out
