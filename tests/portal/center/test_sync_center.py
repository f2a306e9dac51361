"""The Synchronisation Center: Tax Rates, Account Codes, Branding Themes, in that order, each
import in the background with its progress polled and its result under its button; never two
at once for one connection."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from d365xero.jobs import reference_import
from d365xero.jobs.passes import run_pass
from d365xero.store import imports
from d365xero.store.models import Connection, ReferenceImport
from tests.portal.center.conftest import HTML, HTMX, Center

INACTIVE = {"statecode": 1, "statuscode": 2}


def _button(page: str, label: str) -> str:
    found = re.search(rf"<button[^>]*>{label}</button>", page)
    assert found, f"no {label} button"
    return found.group(0)


def _deactivate(center: Center, entity_set: str, key: str) -> None:
    """Dynamics without that kind of reference data, as before a first import."""
    for row in center.stack.rows(entity_set, "statecode eq 0", key):
        center.stack.dataverse.update(entity_set, row[key], INACTIVE)


def test_the_buttons_come_in_the_guides_order(center: Center) -> None:
    _deactivate(center, "dxc_chartofaccounts", "dxc_chartofaccountid")
    _deactivate(center, "dxc_taxtypes", "dxc_taxtypeid")
    page = center.client.get(center.url("/sync-center"), headers=HTML)
    assert page.status_code == 200
    assert 'aria-current="page">Synchronisation Center' in page.text
    assert page.text.index("Tax Rates") < page.text.index("Account Codes")
    assert page.text.index("Account Codes") < page.text.index("Branding Themes")
    assert "disabled" not in _button(page.text, "Tax Rates")
    assert "disabled" in _button(page.text, "Account Codes")
    assert "disabled" in _button(page.text, "Branding Themes")
    assert "Import Tax Rates first" in page.text

    # A POST past the disabled button is refused by the same rule, in the page's words.
    refused = center.client.post(
        center.url("/sync-center/accounts"), data={"csrf_token": center.token()}, headers=HTML
    )
    assert refused.status_code == 409 and "Import Tax Rates first" in refused.text
    with center.stack.runtime.sessions() as session:
        assert imports.latest_imports(session, center.connection_id) == {}

    started = center.client.post(
        center.url("/sync-center/taxrates"), data={"csrf_token": center.token()}, headers=HTML
    )
    assert started.status_code == 303  # without JS: back to the page, which refreshes
    result = center.wait_for_import("taxrates")
    taxes = center.stack.rows("dxc_taxtypes", "statecode eq 0", "dxc_taxtypeid")
    assert taxes
    assert f"0 created, {len(taxes)} updated, 0 deactivated" in result  # rows were there
    page = center.client.get(center.url("/sync-center"), headers=HTML)
    assert "disabled" not in _button(page.text, "Account Codes")
    assert "disabled" in _button(page.text, "Branding Themes")
    assert "Import Account Codes first" in page.text


def test_an_import_shows_progress_then_its_result_under_its_button(center: Center) -> None:
    themes = center.stack.xero_get("BrandingThemes")["BrandingThemes"]
    page = center.client.get(center.url("/sync-center"), headers=HTML)
    assert "All three last reached Dynamics" in page.text  # at Create Connection
    started = center.client.post(
        center.url("/sync-center/brandingthemes"),
        data={"csrf_token": center.token()},
        headers=HTMX,
    )
    assert started.status_code == 200
    assert 'id="sync-panel"' in started.text and "<html" not in started.text  # the fragment
    result = center.wait_for_import("brandingthemes")
    section = result[result.index('id="import-brandingthemes"') :]
    assert re.search(r"Imported \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", section)
    assert f"0 created, {len(themes)} updated, 0 deactivated" in section
    with center.stack.runtime.sessions() as session:
        row = imports.latest_imports(session, center.connection_id)["brandingthemes"]
        assert row.status == imports.DONE and row.stage == len(reference_import.STAGES) - 1


def test_a_running_import_is_polled_and_a_second_click_starts_nothing(center: Center) -> None:
    # The import's work waits until the test lets it go, so the test sees it running.
    release = threading.Event()
    held: list[threading.Thread] = []

    def later(work: object) -> None:
        def run() -> None:
            release.wait(30)
            work()  # type: ignore[operator]

        thread = threading.Thread(target=run)
        thread.start()
        held.append(thread)

    runtime = center.stack.runtime
    reference_import.start_import(runtime, center.connection_id, "taxrates", start=later)
    page = center.client.get(center.url("/sync-center"), headers=HTML)
    assert 'hx-trigger="every 1s"' in page.text  # HTMX polls the panel
    assert '<meta http-equiv="refresh"' in page.text  # inside <noscript>: without JS
    assert "<progress" in page.text and "Checking what Dynamics already has" in page.text
    assert "disabled" in _button(page.text, "Tax Rates")

    again = center.client.post(
        center.url("/sync-center/taxrates"), data={"csrf_token": center.token()}, headers=HTML
    )
    assert again.status_code == 409 and "did not start" in again.text
    # Nor does a pass run beside it: it shares the pass lock.
    assert run_pass(runtime, center.connection_id).status.value == "skipped"
    release.set()
    held[0].join(30)
    result = center.wait_for_import("taxrates")
    assert "updated" in result
    with runtime.sessions() as session:
        rows = session.query(ReferenceImport).filter_by(connection_id=center.connection_id).all()
        assert [r.status for r in rows] == [imports.DONE]  # one import, not two


def test_a_failed_import_says_why_under_its_button(center: Center) -> None:
    # Started past the page's check (as by a second tab), the import's own check refuses it.
    _deactivate(center, "dxc_taxtypes", "dxc_taxtypeid")
    reference_import.start_import(center.stack.runtime, center.connection_id, "accounts")
    result = center.wait_for_import("accounts")
    section = result[result.index('id="import-accounts"') :]
    assert 'class="notice bad"' in section and "import tax rates before accounts" in section


def test_an_import_left_running_by_a_dead_process_is_shown_as_interrupted(center: Center) -> None:
    with center.stack.runtime.sessions.begin() as session:
        imports.start_import(session, center.connection_id, "accounts")  # nobody runs it
    page = center.client.get(center.url("/sync-center"), headers=HTML)
    assert 'hx-trigger="every 1s"' not in page.text
    assert imports.INTERRUPTED in page.text
    assert "disabled" not in _button(page.text, "Account Codes")


def test_the_command_line_import_waits_its_turn_too(
    center: Center, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`d365xero reference-data` takes the same lock: refused while the portal's import runs."""
    from typer.testing import CliRunner

    from d365xero.cli import app

    monkeypatch.chdir(tmp_path)
    with center.stack.runtime.sessions.begin() as session:  # the CLI's own, not a portal user's
        connection = session.get(Connection, center.connection_id)
        assert connection is not None
        connection.user_id = None
    release = threading.Event()
    done = threading.Event()

    def later(work: Callable[[], None]) -> None:
        def run() -> None:
            release.wait(30)
            work()
            done.set()

        threading.Thread(target=run).start()

    reference_import.start_import(center.stack.runtime, center.connection_id, "taxrates", later)
    try:
        args = ["reference-data", "--connection", center.stack.connection.name]
        refused = CliRunner().invoke(app, args, env=center.stack.process_env())
    finally:
        release.set()
        done.wait(30)
    assert refused.exit_code == 1, refused.output
    assert "another pass of this connection is running" in refused.stderr


def test_with_htmx_a_refused_click_still_shows_why(center: Center) -> None:
    _deactivate(center, "dxc_taxtypes", "dxc_taxtypeid")
    refused = center.client.post(
        center.url("/sync-center/accounts"), data={"csrf_token": center.token()}, headers=HTMX
    )
    # HTMX swaps in only 2xx answers: the panel comes back with the reason in it.
    assert refused.status_code == 200 and "<html" not in refused.text
    assert 'class="notice bad"' in refused.text and "Import Tax Rates first" in refused.text
