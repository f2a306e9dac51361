"""A backlog of ready invoices in the Dataverse emulator, loaded in $batch requests (each
invoice a deep insert with its lines, one change set each), and the Xero side to match.

Warm: every customer account already carries dxc_xerocontactid for a contact that exists in
Xero, and every product's number is an existing Xero item code. Cold: neither exists in Xero,
so the pass creates the contacts and items on the way.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench.stack import CLIENT_ID, CLIENT_SECRET, CONNECTION, TENANT, Stack
from d365xero.dataverse.auth import DataverseTokens
from d365xero.dataverse.batch import Operation
from d365xero.dataverse.client import DataverseClient
from d365xero.solution import schema
from d365xero.trust import ca_bundle_file, ssl_context


@dataclass(frozen=True)
class Shape:
    invoices: int
    customers: int = 50
    products: int = 10
    warm: bool = True


CHUNK = 1000  # Dataverse's limit of operations in one $batch request


def _row_id(kind: str, n: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"d365xero-bench:{kind}:{n}"))


def _customer_name(n: int) -> str:
    return f"Bench Customer {n:04d}"


def _product_number(n: int) -> str:
    return f"BENCH-{n:03d}"


def dataverse_client(stack: Stack, http: httpx.Client) -> DataverseClient:
    tokens = DataverseTokens(
        org_url=stack.dataverse.url,
        tenant=TENANT,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        authority=stack.dataverse.url,
        ca_bundle=ca_bundle_file(stack.ca, stack.workdir),
    )
    return DataverseClient(http, stack.dataverse.url, tokens)


class XeroSetup:
    """Just enough raw Xero API to create the contacts and items a warm backlog needs."""

    def __init__(self, stack: Stack, http: httpx.Client) -> None:
        self.http = http
        self.url = stack.xero.url
        token = http.post(
            f"{self.url}/connect/token",
            data={"grant_type": "client_credentials"},
            auth=(CLIENT_ID, CLIENT_SECRET),
        )
        token.raise_for_status()
        self.headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        connections = http.get(f"{self.url}/Connections", headers=self.headers)
        connections.raise_for_status()
        self.headers["xero-tenant-id"] = connections.json()[0]["tenantId"]
        self.headers["Accept"] = "application/json"

    def put(self, collection: str, elements: list[dict[str, Any]]) -> list[dict[str, Any]]:
        response = self.http.put(
            f"{self.url}/api.xro/2.0/{collection}",
            json={collection: elements},
            headers=self.headers,
            params={"summarizeErrors": "false"},
        )
        response.raise_for_status()
        return list(response.json()[collection])


def prepare(stack: Stack, shape: Shape, connection: str = CONNECTION) -> dict[str, str]:
    """Customers and products (and, warm, their Xero contacts and items); the row ids an
    invoice binds to, for load_invoices (`connection`: the name it was made with)."""
    with httpx.Client(verify=ssl_context(stack.ca), timeout=600) as http:
        dv = dataverse_client(stack, http)
        contact_ids: dict[str, str] = {}
        if shape.warm:
            xero = XeroSetup(stack, http)
            names = [_customer_name(n) for n in range(shape.customers)]
            for created in xero.put("Contacts", [{"Name": name} for name in names]):
                contact_ids[created["Name"]] = created["ContactID"]
            xero.put(
                "Items",
                [
                    {"Code": _product_number(n), "Name": f"Bench item {n}"}
                    for n in range(shape.products)
                ],
            )
        refs = _references(dv, connection)
        dv_check(dv.batch([[op] for op in _customers(shape, contact_ids)]))
        dv_check(dv.batch([[op] for op in _products(shape, refs)]))
        return refs


def load_invoices(stack: Stack, shape: Shape, refs: dict[str, str], first: int, count: int) -> None:
    """Invoices number `first` to `first + count - 1`, up to 1,000 to a $batch request."""
    with httpx.Client(verify=ssl_context(stack.ca), timeout=600) as http:
        dv = dataverse_client(stack, http)
        for start in range(first, first + count, CHUNK):
            end = min(start + CHUNK, first + count)
            dv_check(dv.batch([[_invoice(n, shape, refs)] for n in range(start, end)]))


def dv_check(results: list[Any]) -> None:
    failed = [r for r in results if r.status >= 400]
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(results)} writes failed: {failed[0].body}")


def _one(dv: DataverseClient, entity_set: str, filter_: str, select: str) -> dict[str, Any]:
    rows = dv.get(entity_set, {"$filter": filter_, "$select": select, "$top": "1"})["value"]
    if not rows:
        raise LookupError(f"no {entity_set} where {filter_}")
    return dict(rows[0])


def _references(dv: DataverseClient, connection: str) -> dict[str, str]:
    product = _one(
        dv, "products", "productnumber ne null", "_defaultuomid_value,_defaultuomscheduleid_value"
    )
    return {
        "connection": _one(
            dv, "dxc_connections", f"dxc_name eq '{connection}'", "dxc_connectionid"
        )["dxc_connectionid"],
        "pricelevel": _one(dv, "pricelevels", "name ne null", "pricelevelid")["pricelevelid"],
        "currency": _one(
            dv, "transactioncurrencies", "isocurrencycode eq 'GBP'", "transactioncurrencyid"
        )["transactioncurrencyid"],
        "uom": product["_defaultuomid_value"],
        "uomschedule": product["_defaultuomscheduleid_value"],
    }


def _customers(shape: Shape, contact_ids: dict[str, str]) -> list[Operation]:
    ops = []
    for n in range(shape.customers):
        name = _customer_name(n)
        body: dict[str, Any] = {"name": name, "emailaddress1": f"customer{n}@example.com"}
        if name in contact_ids:
            body["dxc_xerocontactid"] = contact_ids[name]
        ops.append(Operation("PATCH", f"accounts({_row_id('account', n)})", body))
    return ops


def _products(shape: Shape, refs: dict[str, str]) -> list[Operation]:
    return [
        Operation(
            "PATCH",
            f"products({_row_id('product', n)})",
            {
                "name": f"Bench item {n}",
                "productnumber": _product_number(n),
                "defaultuomid@odata.bind": f"/uoms({refs['uom']})",
                "defaultuomscheduleid@odata.bind": f"/uomschedules({refs['uomschedule']})",
                "quantitydecimal": 2,
            },
        )
        for n in range(shape.products)
    ]


def _invoice(n: int, shape: Shape, refs: dict[str, str]) -> Operation:
    """A write-in line, an existing-product line and, on every other invoice, a discounted
    write-in line; delivered yesterday, so ready whatever the connection's time zone."""
    delivered = datetime.now(UTC).date() - timedelta(days=1)
    product = _row_id("product", n % shape.products)
    lines: list[dict[str, Any]] = [
        {
            "isproductoverridden": True,
            "productdescription": f"Consulting for invoice {n}",
            "quantity": 1 + n % 3,
            "priceperunit": 100 + n % 50,
            "sequencenumber": 1,
        },
        {
            "productid@odata.bind": f"/products({product})",
            "uomid@odata.bind": f"/uoms({refs['uom']})",
            "quantity": 2,
            "priceperunit": 99.0,
            "ispriceoverridden": True,
            "sequencenumber": 2,
        },
    ]
    if n % 2:
        lines.append(
            {
                "isproductoverridden": True,
                "productdescription": "Travel",
                "quantity": 1,
                "priceperunit": 250.0,
                "manualdiscountamount": 25.0,
                "sequencenumber": 3,
            }
        )
    body: dict[str, Any] = {
        "name": f"Bench invoice {n:05d}",
        "description": f"Bench {n}",
        "customerid_account@odata.bind": f"/accounts({_row_id('account', n % shape.customers)})",
        "transactioncurrencyid@odata.bind": f"/transactioncurrencies({refs['currency']})",
        "pricelevelid@odata.bind": f"/pricelevels({refs['pricelevel']})",
        "dxc_ConnectionId@odata.bind": f"/dxc_connections({refs['connection']})",
        "dxc_invoicetype": schema.option_value(schema.INVOICE_TYPE, "Sales"),
        "dxc_lineamounttypes": schema.option_value(schema.LINE_AMOUNT_TYPES, "Exclusive"),
        "datedelivered": delivered.isoformat(),
        "duedate": (delivered + timedelta(days=30)).isoformat(),
        "invoice_details": lines,
    }
    return Operation("POST", "invoices", body)
