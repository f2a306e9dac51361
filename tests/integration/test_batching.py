"""A backlog goes to Xero 50 invoices a request, read from Dynamics 200 at a time, and written
back in one $batch per page."""

from __future__ import annotations

from d365xero.dataverse.batch import Operation
from d365xero.solution import schema
from tests.integration.conftest import Stack


def _backlog(stack: Stack, count: int) -> None:
    """`count` ready invoices for one (already linked) customer, made in $batch requests."""
    [account] = stack.rows("accounts", "name eq 'A. Datum Corporation (sample)'", "accountid")
    [prices] = stack.rows("pricelevels", "name ne null", "pricelevelid")[:1]
    row_id = stack.connection.dataverse_connection_row_id
    changesets = []
    for n in range(count):
        content_id = 2 * n + 1  # the invoice's Content-ID in the batch; its line is the next
        changesets.append(
            [
                Operation(
                    "POST",
                    "invoices",
                    {
                        "name": f"Backlog {n:04d}",
                        "customerid_account@odata.bind": f"/accounts({account['accountid']})",
                        "pricelevelid@odata.bind": f"/pricelevels({prices['pricelevelid']})",
                        "dxc_ConnectionId@odata.bind": f"/dxc_connections({row_id})",
                        "datedelivered": stack.today().isoformat(),
                        "dxc_invoicetype": schema.option_value(schema.INVOICE_TYPE, "Sales"),
                    },
                ),
                Operation(
                    "POST",
                    "invoicedetails",
                    {
                        "invoiceid@odata.bind": f"${content_id}",
                        "isproductoverridden": True,
                        "productdescription": f"Service {n}",
                        "quantity": 1,
                        "priceperunit": 10 + n,
                    },
                ),
            ]
        )
    results = stack.dataverse.batch(changesets)
    assert all(r.status < 300 for r in results), [r for r in results if r.status >= 300][:1]


def test_a_backlog_costs_one_xero_request_per_50_invoices(stack: Stack) -> None:
    _backlog(stack, 120)
    stack.xero.emulator.calls.clear()
    result = stack.run_pass()
    assert result.report.count("created") == 120, result.message
    calls = stack.xero.emulator.calls.snapshot()
    assert calls.get("PUT /api.xro/2.0/Invoices") == 3  # 50 + 50 + 20
    assert calls.get("PUT /api.xro/2.0/Contacts", 0) == 1  # the one customer, once
    xero = [
        i for i in stack.xero_get("Invoices", page=1, pageSize=1000)["Invoices"] if i.get("Url")
    ]
    assert len(xero) == 120
    # Dynamics: settings, one page of 200 ready invoices, the write-back, the edit scan.
    push = result.step("push")
    assert push is not None and push.dataverse_calls <= 5, push
