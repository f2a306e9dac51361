"""Xero not answering beyond the retries within a request: the invoices stay ready, wait out a
backoff kept in the store (skipped until due), and after the limit are marked Failed with the
last reason; Failed set back to No is picked up by the next pass."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import sqlalchemy as sa

from d365xero.demo import create_sample_invoices
from d365xero.solution import schema
from d365xero.store.models import InvoiceRetry
from tests.integration.conftest import Stack

FAILED = schema.option_value(schema.EXPORT_STATUS, "Failed")
NO = schema.option_value(schema.EXPORT_STATUS, "No")
INVOICES = "PUT /api.xro/2.0/Invoices"
UNREADY = "Missing price list"  # fails at once (no price list), whatever Xero does


def _faults(stack: Stack, faults: list[dict[str, object]]) -> None:
    response = stack.xero.client().post("/_emulator/faults", json={"seed": 1, "faults": faults})
    assert response.status_code < 300, response.text


def _hits(stack: Stack) -> int:
    return sum(f["hits"] for f in stack.xero.client().get("/_emulator/faults").json()["faults"])


def test_xero_not_answering_backs_off_then_fails_with_the_reason(stack: Stack) -> None:
    stack.run_pass()  # builds the connection's clients
    [(_, clients)] = stack.runtime._clients.values()
    clients.xero._sleep = lambda seconds: None  # the waits within a request are not the point
    stack.runtime.settings.retry_max_attempts = 2
    create_sample_invoices(
        stack.dataverse, stack.connection.dataverse_connection_row_id or "", stack.today()
    )
    _faults(stack, [{"route": INVOICES, "kind": "503", "times": 1000}])

    first = stack.run_pass()

    assert first.report.count("deferred") == 3, first.report.outcomes
    assert "3 invoice(s) waiting for a retry" in first.message and "503" in first.message
    assert not stack.rows("dxc_xerodetails", f"dxc_name ne '{UNREADY}'")  # still ready
    with stack.runtime.sessions() as session:
        rows = session.scalars(sa.select(InvoiceRetry)).all()
        assert len(rows) == 3 and {r.attempts for r in rows} == {1}
        assert all(r.next_attempt_at > datetime.now(UTC) for r in rows)

    hits = _hits(stack)
    second = stack.run_pass()  # within the backoff: not sent again
    assert second.report.count("retry-waiting") == 3, second.report.outcomes
    assert _hits(stack) == hits
    assert "3 invoice(s) waiting for a retry" in second.message

    stack.retries_due()
    third = stack.run_pass()  # the second try fails too: the limit is reached
    assert third.report.count("failed") == 3, third.report.outcomes
    failed = stack.rows(
        "dxc_xerodetails", f"dxc_exportstatus eq {FAILED} and dxc_name ne '{UNREADY}'"
    )
    assert len(failed) == 3
    detail = failed[0]
    [history] = stack.rows(
        "dxc_synchistories", f"_dxc_invoiceid_value eq {detail['_dxc_invoiceid_value']}"
    )
    assert "Xero did not answer after 2 tries" in history["dxc_details"]
    assert "503" in history["dxc_details"]
    with stack.runtime.sessions() as session:
        assert not session.scalars(sa.select(InvoiceRetry)).all()  # a reset starts afresh

    _faults(stack, [])  # Xero answers again; the user sets Export status back to No
    for row in failed:
        stack.dataverse.update("dxc_xerodetails", row["dxc_xerodetailid"], {"dxc_exportstatus": NO})
    fourth = stack.run_pass()
    assert fourth.report.count("created") == 3, fourth.report.outcomes
    urls = Counter(i["Url"] for i in stack.xero_get("Invoices")["Invoices"] if i.get("Url"))
    assert set(urls.values()) == {1}, urls  # each once, whatever the lost tries did
