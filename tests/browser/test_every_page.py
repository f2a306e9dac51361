"""Every page of the portal in chromium, signed out and signed in as the owner of a real
connection to both emulators: each GET route of app.routes (so pages added later are covered
without being listed), passes axe-core with no serious or critical violation, answers below
500, and leaves its screenshot under tests/browser/artifacts/. Downloads and HTMX fragments are
not pages: their status is checked, and fragments are looked at inside their pages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from d365xero.store.models import SyncRun
from tests.browser.conftest import Portal
from tests.support.browser import FAILING_IMPACTS, Screenshots, axe_violations
from tests.support.portal_routes import Endpoint, endpoints

pytestmark = pytest.mark.slow

NOT_PAGES = ("/static", "/metrics", "/healthz", "/readyz", "/webhooks")


def _pages(portal: Portal, connection: str, run: str) -> Iterator[tuple[Endpoint, str]]:
    """Each page, its path parameters set to the owner's connection (a run's id for a run)."""
    for endpoint in endpoints(portal.app):
        if endpoint.method == "GET" and not endpoint.path.startswith(NOT_PAGES):
            values = {p: run if "run" in p else connection for p in endpoint.params}
            yield endpoint, endpoint.url(values)


def test_every_page_passes_axe(page: Any, portal: Portal, screenshot: Screenshots) -> None:
    owner = portal.user()
    connection = portal.connection(owner)
    with portal.runtime.sessions() as session:
        run = session.scalar(sa.select(sa.func.max(SyncRun.id)))
    problems: list[str] = []
    visited = 0
    for signed_in in (False, True):
        if signed_in:
            portal.sign_in(page, owner)
        for endpoint, url in _pages(portal, connection.id, str(run or 1)):
            # Over the browser's own cookies; a download (the solution zip) is not a page.
            head = page.request.get(portal.url + url, max_redirects=0)
            if head.status >= 500:
                problems.append(f"{url}: answered {head.status}")
            if "text/html" not in head.headers.get("content-type", ""):
                continue
            if "<html" not in head.text()[:500].lower():
                continue  # an HTMX fragment: axe sees it inside the page that shows it
            page.goto(portal.url + url)
            visited += 1
            who = "signed-in" if signed_in else "signed-out"
            screenshot(page, f"{who} {endpoint.path.strip('/') or 'home'}")
            for v in axe_violations(page):
                if v.get("impact") in FAILING_IMPACTS:
                    targets = [" ".join(n.get("target", [])) for n in v.get("nodes", [])][:3]
                    problems.append(f"{url} ({who}): {v['id']} ({v['impact']}) {targets}")
    assert visited, "no page found in app.routes"
    assert not problems, "\n".join(problems)
