"""The demo's second half: a person at Xero approves and pays one invoice and part-pays another
(through the Xero emulator's API, as Xero's web app would), the next pass runs, and what came
back to Dynamics is shown: statuses, payments, amounts due, the customer's balance."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
from rich.table import Table

from d365xero.dataverse.client import DataverseClient

BANK = "090"  # the demo organisation's bank account (Xero's demo company: Business Bank Account)
API = "/api.xro/2.0"


@dataclass(frozen=True)
class Paid:
    xero_id: str
    number: str
    amount: Decimal
    total: Decimal


class XeroUser:
    """Someone working in the Xero organisation, with a token of their own."""

    def __init__(
        self, http: httpx.Client, url: str, tenant_id: str, client_id: str, secret: str
    ) -> None:
        self.http, self.url, self.tenant_id = http, url, tenant_id
        response = http.post(
            f"{url}/connect/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
            },
        )
        response.raise_for_status()
        self.token = response.json()["access_token"]

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {
            "Authorization": f"Bearer {self.token}",
            "xero-tenant-id": self.tenant_id,
            "Accept": "application/json",
        }
        response = self.http.request(method, f"{self.url}{API}/{path}", json=body, headers=headers)
        response.raise_for_status()
        return response.json()

    def approve_and_pay(self, invoice: dict[str, Any], share: Decimal) -> Paid:
        """Approve the draft, then pay `share` of its total into the bank account."""
        xero_id = invoice["InvoiceID"]
        self.call("POST", f"Invoices/{xero_id}", {"Invoices": [{"Status": "AUTHORISED"}]})
        total = Decimal(str(invoice["Total"]))
        amount = (total * share).quantize(Decimal("0.01"))
        payment = {
            "Invoice": {"InvoiceID": xero_id},
            "Account": {"Code": BANK},
            "Amount": float(amount),
            "Reference": "Demo payment",
        }
        self.call("PUT", "Payments", {"Payments": [payment]})
        return Paid(xero_id, invoice.get("InvoiceNumber") or xero_id, amount, total)

    def drafts(self, numbers: list[str]) -> list[dict[str, Any]]:
        """These invoices, where they are still drafts, in the order of `numbers`."""
        found = self.call("GET", f"Invoices?InvoiceNumbers={','.join(numbers)}&Statuses=DRAFT")
        by_number = {i.get("InvoiceNumber"): i for i in found.get("Invoices") or []}
        return [by_number[n] for n in numbers if n in by_number]


def pay_two(user: XeroUser, numbers: list[str]) -> list[Paid]:
    """Of the invoices the first pass created (their Xero numbers), the first draft paid in
    full, the second paid in part."""
    drafts = user.drafts(numbers)
    if len(drafts) < 2:
        raise LookupError("the demo's first pass left fewer than two draft invoices in Xero")
    return [
        user.approve_and_pay(drafts[0], Decimal(1)),
        user.approve_and_pay(drafts[1], Decimal("0.4")),
    ]


def came_back(dynamics: DataverseClient, paid: list[Paid]) -> Table:
    """What Dynamics now shows of the invoices paid: status, payments, amount due, balance."""
    table = Table(title="Back in Dynamics after the next pass")
    for column in ("Xero number", "Xero status", "Invoice state", "Payments", "Amount due"):
        table.add_column(column)
    for p in paid:
        [detail] = dynamics.get(
            "dxc_xerodetails",
            {
                "$filter": f"dxc_xeroinvoiceid eq '{p.xero_id}'",
                "$select": "dxc_xerostatus,dxc_amountdue,_dxc_invoiceid_value",
            },
        )["value"]
        invoice_id = detail["_dxc_invoiceid_value"]
        invoice = dynamics.get(f"invoices({invoice_id})", {"$select": "statecode"})
        payments = dynamics.get(
            "dxc_payments",
            {"$filter": f"_dxc_invoiceid_value eq {invoice_id}", "$select": "dxc_amount"},
        )["value"]
        table.add_row(
            p.number,
            str(detail.get("dxc_xerostatus")),
            {0: "Active", 2: "Paid", 3: "Canceled"}.get(invoice.get("statecode"), "?"),
            ", ".join(f"{Decimal(str(r['dxc_amount'])):.2f}" for r in payments) or "none",
            f"{Decimal(str(detail.get('dxc_amountdue') or 0)):.2f}",
        )
    return table


def balances(dynamics: DataverseClient, paid: list[Paid]) -> list[str]:
    """The paying customers' balances as Xero gave them, one line each."""
    lines = []
    seen: set[str] = set()
    for p in paid:
        [detail] = dynamics.get(
            "dxc_xerodetails",
            {"$filter": f"dxc_xeroinvoiceid eq '{p.xero_id}'", "$select": "_dxc_invoiceid_value"},
        )["value"]
        invoice = dynamics.get(
            f"invoices({detail['_dxc_invoiceid_value']})", {"$select": "_customerid_value"}
        )
        customer = invoice.get("_customerid_value")
        if not customer or customer in seen:
            continue
        seen.add(customer)
        for entity_set, name in (("accounts", "name"), ("contacts", "fullname")):
            rows = dynamics.get(
                entity_set,
                {
                    "$filter": f"{entity_set[:-1]}id eq {customer}",
                    "$select": f"{name},dxc_amountowed,dxc_amountoverdue",
                },
            )["value"]
            for row in rows:
                owed = Decimal(str(row.get("dxc_amountowed") or 0))
                overdue = Decimal(str(row.get("dxc_amountoverdue") or 0))
                lines.append(f"{row[name]}: {owed:.2f} owed, {overdue:.2f} overdue (from Xero)")
    return lines
