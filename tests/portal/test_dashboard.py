"""The sync dashboard of a connection, over the real app, the store (SQLite and PostgreSQL) and
both emulators on real ports (tests/integration's `stack`): counts after a real pass, the
chart's numbers, Retry, the dry run and reconciliation, the runs, and what nobody else sees."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from d365xero.demo import create_sample_invoices
from d365xero.jobs.passes import PASS_STEPS
from d365xero.portal.app import create_app
from d365xero.solution import schema
from d365xero.store.models import Connection, InvoiceRetry, SyncRun
from tests.integration.conftest import Stack
from tests.integration.conftest import stack as stack  # the fixture
from tests.portal.conftest import Portal, csrf_token

HTML = {"accept": "text/html"}
HTMX = {"accept": "text/html", "hx-request": "true"}
UNREADY = "Missing price list"  # the sample invoice that fails at once
FAILED = schema.option_value(schema.EXPORT_STATUS, "Failed")


@dataclass
class Dash:
    stack: Stack
    portal: Portal
    client: TestClient

    @property
    def id(self) -> str:
        return self.stack.connection.id

    def page(self, path: str = "") -> str:
        got = self.client.get(f"/connections/{self.id}{path}", headers=HTML)
        assert got.status_code == 200, got.text
        return str(got.text)

    def post(self, path: str, data: dict[str, str], headers: dict[str, str] = HTML) -> object:
        token = csrf_token(self.client, f"/connections/{self.id}")
        return self.client.post(
            f"/connections/{self.id}{path}", data={"csrf_token": token, **data}, headers=headers
        )


@pytest.fixture
def dash(stack: Stack) -> Iterator[Dash]:
    """The stack's connection, owned by a signed-in portal user, its sample invoices pushed
    by one real pass (one of them fails: it has no price list)."""
    app = create_app(stack.runtime.settings, runtime=stack.runtime)
    portal = Portal(app, stack.runtime)
    client, user = portal.signed_in_client()
    with stack.runtime.sessions.begin() as session:
        session.get(Connection, stack.connection.id).user_id = user.id  # type: ignore[union-attr]
    create_sample_invoices(
        stack.dataverse, stack.connection.dataverse_connection_row_id or "", stack.today()
    )
    stack.run_pass()
    yield Dash(stack, portal, client)
    client.close()


def _count(page: str, label: str) -> str:
    found = re.search(rf"<dt>{label}</dt><dd class=\"num\">([^<]+)</dd>", page)
    assert found, f"no {label} count"
    return found.group(1)


def _invoice(st: Stack, name: str) -> dict[str, str]:
    [row] = st.rows("invoices", f"name eq '{name}'", "invoiceid,invoicenumber")
    return row


def test_counts_after_a_real_pass_with_one_failing_invoice(dash: Dash) -> None:
    page = dash.page()
    # Three sample invoices go (one is delivered tomorrow, one has no price list).
    assert _count(page, "Synced") == "3"
    assert _count(page, "Failed") == "1"
    assert _count(page, "Waiting") == "0"
    failed = _invoice(dash.stack, UNREADY)
    assert failed["invoicenumber"] in page
    link = (
        f"{dash.stack.connection.dataverse_url}/main.aspx?etn=invoice&amp;"
        f"id={failed['invoiceid']}&amp;pagetype=entityrecord"
    )
    assert link in page
    [history] = dash.stack.rows(
        "dxc_synchistories", f"_dxc_invoiceid_value eq {failed['invoiceid']}", "dxc_details"
    )
    assert history["dxc_details"] and unescape(page).count(history["dxc_details"]) == 1

    with dash.stack.runtime.sessions.begin() as session:  # Xero did not answer for one
        session.add(
            InvoiceRetry(
                connection_id=dash.id,
                invoice_id="00000000-0000-0000-0000-000000000001",
                attempts=2,
                first_failed_at=datetime.now(UTC),
                next_attempt_at=datetime.now(UTC) + timedelta(minutes=5),
                last_reason="Xero answered 503",
            )
        )
    assert _count(dash.page(), "Waiting") == "1"


def test_the_chart_shows_each_days_numbers(dash: Dash) -> None:
    from d365xero.store.dashboard import add_to_day

    today = datetime.now(UTC).astimezone(_zone(dash)).date()
    with dash.stack.runtime.sessions.begin() as session:  # as passes on earlier days recorded
        for days_ago, created, updated, failed in ((3, 5, 0, 2), (3, 0, 1, 0), (40, 9, 0, 9)):
            add_to_day(session, dash.id, today - timedelta(days=days_ago), created, updated, failed)
    page = dash.page()
    assert '<svg viewBox="0 0 720 240" role="img" aria-labelledby="chart-title chart-desc"' in page
    assert '<title id="chart-title">Invoices synced and failed per day' in page
    rows = re.findall(
        r'<tr><th scope="row">([^<]+)</th><td class="num">(\d+)</td><td class="num">(\d+)</td>',
        page,
    )
    by_day = {day: (int(s), int(f)) for day, s, f in rows if day != "In all"}
    assert len(by_day) == 30
    three_ago = (today - timedelta(days=3)).strftime("%a %d %b %Y")
    assert by_day[three_ago] == (6, 2)  # the two passes of that day; 40 days ago is outside
    assert by_day[today.strftime("%a %d %b %Y")] == (3, 1)  # today's real pass
    assert sum(s for s, _ in by_day.values()) == 9
    assert "9 synced and 3 failed in all" in page  # the description says the totals too
    assert page.count('class="bar synced"') >= 2 and page.count('class="bar failed"') >= 2
    assert _count(page, "Synced") == "17"  # every invoice ever created: 3 + 5 + 9


def _zone(dash: Dash) -> ZoneInfo:
    return ZoneInfo(dash.stack.connection.timezone)


def _give_price_list(st: Stack, invoice_id: str) -> None:
    [prices] = st.rows("pricelevels", "name ne null", "pricelevelid")[:1]
    st.dataverse.update(
        "invoices",
        invoice_id,
        {"pricelevelid@odata.bind": f"/pricelevels({prices['pricelevelid']})"},
    )


def test_retry_one_turns_a_failed_invoice_into_a_synced_one(dash: Dash) -> None:
    failed = _invoice(dash.stack, UNREADY)
    _give_price_list(dash.stack, failed["invoiceid"])  # what its Sync History said to fix

    done = dash.post("/retry", {"invoice": failed["invoicenumber"]})

    assert done.status_code == 303  # type: ignore[attr-defined]
    page = dash.client.get(done.headers["location"], headers=HTML).text  # type: ignore[attr-defined]
    assert "1 invoice(s) set back to export status No" in page
    assert _count(page, "Failed") == "0"  # the brief cache was dropped: Dynamics read afresh
    dash.stack.run_pass()
    assert _count(dash.page(), "Synced") == "4"
    again = dash.post("/retry", {"invoice": failed["invoicenumber"]})
    page = dash.client.get(again.headers["location"], headers=HTML).text  # type: ignore[attr-defined]
    assert "is not Failed: nothing to retry" in page


def test_retry_all_and_bad_retry_forms(dash: Dash) -> None:
    failed = _invoice(dash.stack, UNREADY)
    _give_price_list(dash.stack, failed["invoiceid"])
    done = dash.post("/retry", {"all": "yes"})
    assert done.status_code == 303  # type: ignore[attr-defined]
    assert not dash.stack.rows("dxc_xerodetails", f"dxc_exportstatus eq {FAILED}", "dxc_name")
    dash.stack.run_pass()
    page = dash.page()
    assert (_count(page, "Synced"), _count(page, "Failed")) == ("4", "0")

    neither = dash.post("/retry", {})
    assert neither.status_code == 400  # type: ignore[attr-defined]
    assert "Choose one invoice to retry, or Retry all." in neither.text  # type: ignore[attr-defined]
    unknown = dash.post("/retry", {"invoice": "INV-<b>NO</b>"})
    assert unknown.status_code == 400  # type: ignore[attr-defined]
    assert "no invoice numbered &#39;INV-&lt;b&gt;NO&lt;/b&gt;&#39;" in unknown.text  # type: ignore[attr-defined]


def test_the_dry_run_fragment_and_page(dash: Dash) -> None:
    failed = _invoice(dash.stack, UNREADY)
    _give_price_list(dash.stack, failed["invoiceid"])
    dash.post("/retry", {"invoice": failed["invoicenumber"]})

    fragment = dash.post("/dry-run", {}, HTMX)
    assert fragment.status_code == 200  # type: ignore[attr-defined]
    text = fragment.text  # type: ignore[attr-defined]
    assert "<html" not in text and "Dry run done" in text
    assert UNREADY in text and "be created in Xero" in text and "What would be sent" in text
    assert not dash.stack.xero_get("Invoices", where=f'Reference=="Demo: {UNREADY}"')["Invoices"]
    # Without JavaScript: the same result on a page of its own, and kept for a later look.
    assert "Dry run done" in dash.page("/dry-run") and "<html" in dash.page("/dry-run")
    assert "Dry run done" in dash.page()


def test_the_reconciliation_fragment(dash: Dash) -> None:
    fragment = dash.post("/reconcile", {}, HTMX)
    text = fragment.text  # type: ignore[attr-defined]
    assert fragment.status_code == 200 and "<html" not in text  # type: ignore[attr-defined]
    assert "3 linked invoice(s) compared: all agree" in text
    page = dash.post("/reconcile", {})
    assert "all agree" in page.text and "<html" in page.text  # type: ignore[attr-defined]


def test_the_last_runs_and_a_run_in_detail(dash: Dash) -> None:
    page = dash.page()
    with dash.stack.runtime.sessions() as session:
        run = session.scalars(sa.select(SyncRun).where(SyncRun.connection_id == dash.id)).one()
    assert f'href="/connections/{dash.id}/runs/{run.id}"' in page
    detail = dash.page(f"/runs/{run.id}")
    steps = json.loads(run.steps or "[]")
    assert [s["name"] for s in steps] == [name for name, _ in PASS_STEPS]
    push = next(s for s in steps if s["name"] == "push")
    assert '<th scope="row">push</th>' in detail
    assert f"created {push['counts']['created']}, failed {push['counts']['failed']}" in detail
    assert f"{run.xero_calls} to Xero, {run.dataverse_calls} to Dataverse" in detail
    for missing in ("/runs/999999", "/runs/abc", "/runs/99999999999999999999999"):
        assert dash.client.get(f"/connections/{dash.id}{missing}", headers=HTML).status_code == 404


def test_a_sync_history_reason_with_markup_is_escaped(dash: Dash) -> None:
    failed = _invoice(dash.stack, UNREADY)
    [history] = dash.stack.rows(
        "dxc_synchistories", f"_dxc_invoiceid_value eq {failed['invoiceid']}", "dxc_synchistoryid"
    )
    dash.stack.dataverse.update(
        "dxc_synchistories",
        history["dxc_synchistoryid"],
        {"dxc_details": '<script>alert(1)</script><img src=x onerror="alert(2)">'},
    )
    page = dash.page()  # the first look: nothing kept from before the change
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x" in page


def _routes(dash: Dash, connection_id: str, run_id: int) -> list[tuple[str, str]]:
    base = f"/connections/{connection_id}"
    return [
        ("GET", base),
        ("GET", f"{base}/runs/{run_id}"),
        ("POST", f"{base}/retry"),
        ("GET", f"{base}/dry-run"),
        ("POST", f"{base}/dry-run"),
        ("GET", f"{base}/reconcile"),
        ("POST", f"{base}/reconcile"),
    ]


def test_another_users_connection_is_404_on_every_route(dash: Dash) -> None:
    with dash.stack.runtime.sessions() as session:
        run_id = session.scalars(sa.select(SyncRun.id)).first() or 0
    other = dash.portal.client()
    dash.portal.sign_in(other, dash.portal.user("eve@example.com"))
    token = csrf_token(other)
    for method, path in _routes(dash, dash.id, run_id):
        got = other.request(method, path, data={"csrf_token": token, "all": "yes"}, headers=HTML)
        assert got.status_code == 404, (method, path, got.status_code)
        assert dash.stack.connection.name not in got.text
    for method, path in _routes(dash, "not-a-uuid", run_id):  # nor anything not an id
        got = other.request(method, path, data={"csrf_token": token}, headers=HTML)
        assert got.status_code in (404, 405), (method, path)
    # Signed out: the way to the login page.
    got = dash.portal.client().get(f"/connections/{dash.id}", headers=HTML)
    assert got.status_code == 303 and got.headers["location"].startswith("/login?next=")
    # Eve's Retry all reset nothing of Ada's.
    assert dash.stack.rows("dxc_xerodetails", f"dxc_exportstatus eq {FAILED}", "dxc_name")


def test_forms_without_the_csrf_token_are_refused(dash: Dash) -> None:
    for path in ("/retry", "/dry-run", "/reconcile"):
        got = dash.client.post(f"/connections/{dash.id}{path}", data={"all": "yes"}, headers=HTML)
        assert got.status_code == 403, path
    assert dash.stack.rows("dxc_xerodetails", f"dxc_exportstatus eq {FAILED}", "dxc_name")


def test_the_dashboard_asks_dynamics_once_and_xero_never(dash: Dash) -> None:
    dataverse_calls = dash.stack.dataverse_app.state.emulator.calls
    xero_calls = dash.stack.xero.starlette.state.emulator.calls
    dataverse_calls.clear()
    xero_calls.clear()
    for _ in range(3):  # reloads within FAILED_FOR seconds: the answer kept
        dash.page()
    # (Entra's token and metadata calls aside: clients are made afresh for an edited connection.)
    assert dataverse_calls.snapshot()["GET /api/data/v9.2/invoices"] == 1
    assert dataverse_calls.total("/api/data") == 1
    assert xero_calls.total("/api.xro") == 0
    dash.page(f"/runs/{_any_run(dash)}")  # the store alone
    assert dataverse_calls.total("/api/data") == 1


def _any_run(dash: Dash) -> int:
    with dash.stack.runtime.sessions() as session:
        return int(session.scalars(sa.select(SyncRun.id)).first() or 0)


def test_dynamics_not_answering_leaves_the_rest_of_the_page(dash: Dash) -> None:
    faults = TestClient(dash.stack.dataverse_app)
    plan = {"faults": [{"route": "GET /api/data/v9.2/invoices", "kind": "500", "times": 1000}]}
    assert faults.post("/_emulator/faults", json=plan).status_code < 300
    page = dash.page()
    assert "Dynamics did not answer" in page
    assert _count(page, "Failed") == "?" and _count(page, "Synced") == "3"
    calls = dash.stack.dataverse_app.state.emulator.calls
    calls.clear()
    assert "Dynamics did not answer" in dash.page()  # kept: not asked again at each view
    assert calls.total("/api/data") == 0
    refused = dash.post("/retry", {"all": "yes"})
    assert refused.status_code == 502  # type: ignore[attr-defined]
    assert "Nothing was retried" in refused.text  # type: ignore[attr-defined]
    faults.post("/_emulator/faults", json={"faults": []})
