"""A backlog goes to Xero 50 invoices a request, read from Dynamics 200 at a time, and written
back in one $batch per page."""

from __future__ import annotations

from tests.integration.conftest import Stack, ready_backlog


def test_a_backlog_costs_one_xero_request_per_50_invoices(stack: Stack) -> None:
    ready_backlog(stack, 120)
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
