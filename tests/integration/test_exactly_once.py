"""Never a duplicate: the connector killed with SIGKILL between every pair of steps, and replies
lost after Xero or Dataverse applied the change, still end with exactly one Xero invoice,
contact and item per Dynamics record, and one success in Sync History per invoice."""

from __future__ import annotations

from collections import Counter

import pytest

from d365xero.demo import create_sample_invoices
from d365xero.solution import schema
from tests.integration.conftest import Stack
from tests.support.crash_pass import crash_at

STEPS = [
    "contacts-begun",
    "contacts-sent",
    "items-begun",
    "items-sent",
    "invoices-begun",
    "invoices-sent",
    "invoices-applied",
    "written-back",
]
YES = schema.option_value(schema.EXPORT_STATUS, "Yes")
SUCCESSFUL = schema.option_value(schema.SYNC_STATUS, "Successful")


def _prepare(stack: Stack) -> None:
    row_id = stack.connection.dataverse_connection_row_id or ""
    create_sample_invoices(stack.dataverse, row_id, stack.today())


def _assert_exactly_once(stack: Stack) -> None:
    ready = ("test Enrico 1", "Support renewal", "Consulting")
    invoices = [i for i in stack.xero_get("Invoices")["Invoices"] if i.get("Url")]
    by_url = Counter(i["Url"] for i in invoices if i["Status"] != "DELETED")
    assert len(by_url) == len(ready)
    assert set(by_url.values()) == {1}, by_url
    names = Counter(c["Name"].lower() for c in stack.xero_get("Contacts")["Contacts"])
    assert max(names.values()) == 1, names
    codes = Counter(i["Code"] for i in stack.xero_get("Items")["Items"])
    assert max(codes.values()) == 1, codes
    for name in ready:
        [invoice] = stack.rows("invoices", f"name eq '{name}'", "invoiceid")
        filter_ = f"_dxc_invoiceid_value eq {invoice['invoiceid']}"
        [detail] = stack.rows("dxc_xerodetails", filter_)
        assert detail["dxc_exportstatus"] == YES
        successes = [
            h for h in stack.rows("dxc_synchistories", filter_) if h["dxc_syncstatus"] == SUCCESSFUL
        ]
        assert len(successes) == 1, successes
        assert detail["dxc_xeroinvoiceid"] in {i["InvoiceID"] for i in invoices}


@pytest.mark.slow
@pytest.mark.parametrize("step", STEPS)
def test_killed_at_any_step_the_next_pass_finishes_without_duplicates(
    stack: Stack, step: str
) -> None:
    _prepare(stack)
    crash_at(stack.runtime.settings, stack.connection.id, step)
    stack.run_pass()
    _assert_exactly_once(stack)
    again = stack.run_pass()
    assert again.report.count("created") == 0
    _assert_exactly_once(stack)


def test_lost_replies_from_xero_are_replayed_not_repeated(stack: Stack) -> None:
    _prepare(stack)
    routes = ("PUT /api.xro/2.0/Contacts", "PUT /api.xro/2.0/Items", "PUT /api.xro/2.0/Invoices")
    plan = {"seed": 1, "faults": [{"route": r, "kind": "lost", "times": 1} for r in routes]}
    assert stack.xero.client().post("/_emulator/faults", json=plan).status_code < 300
    stack.run_pass()
    _assert_exactly_once(stack)
    faults = stack.xero.client().get("/_emulator/faults").json()
    assert [f["hits"] for f in faults["faults"]] == [1, 1, 1], faults


def test_a_lost_reply_from_dataverse_is_harmless(stack: Stack) -> None:
    _prepare(stack)
    response = stack.dataverse.http.post(
        f"{stack.dataverse.org_url}/_emulator/faults",
        json={
            "seed": 1,
            "faults": [{"route": "POST /api/data/v9.2/$batch", "kind": "lost", "times": 1}],
        },
    )
    assert response.status_code in (200, 204), response.text
    stack.run_pass()
    _assert_exactly_once(stack)
    faults = stack.dataverse.http.get(f"{stack.dataverse.org_url}/_emulator/faults").json()
    assert [f["hits"] for f in faults["faults"]] == [1], faults


def test_an_unexpected_error_fails_the_run_loudly_and_the_next_pass_recovers(
    stack: Stack,
) -> None:
    from d365xero.jobs.passes import run_pass
    from d365xero.store import runs
    from d365xero.store.models import RunStatus

    _prepare(stack)

    def bug(step: str) -> None:
        if step == "invoices-sent":
            raise RuntimeError("a bug after Xero took the invoices")

    failed = run_pass(stack.runtime, stack.connection.id, bug)
    assert failed.status is RunStatus.failed
    assert "Unexpected error (RuntimeError): a bug after Xero took the invoices" in failed.message
    with stack.runtime.sessions() as session:
        [last, *_] = runs.recent_runs(session, stack.connection.id)
        assert last.status == RunStatus.failed.value and last.finished_at is not None
    stack.run_pass()
    _assert_exactly_once(stack)
