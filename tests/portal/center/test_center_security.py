"""Every route of the Synchronisation Center, Connector Settings and Field mapping: another
user's connection is 404 (not even confirmed to exist), a form without the browser's CSRF
token is refused, and a signed-out browser is sent to the login page."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from d365xero.store import imports
from tests.portal.center.conftest import HTML, Center
from tests.portal.conftest import csrf_token

GETS = ("/sync-center", "/sync-center/status", "/settings", "/mapping")
POSTS = (
    "/sync-center/taxrates",
    "/sync-center/accounts",
    "/sync-center/brandingthemes",
    "/settings",
    "/mapping",
)


def test_another_users_connection_is_not_found_on_every_route(
    center: Center, stranger: TestClient
) -> None:
    token = csrf_token(stranger)
    for path in GETS:
        assert stranger.get(center.url(path), headers=HTML).status_code == 404, path
    for path in POSTS:
        sent = stranger.post(center.url(path), data={"csrf_token": token}, headers=HTML)
        assert sent.status_code == 404, path
    with center.stack.runtime.sessions() as session:
        assert imports.latest_imports(session, center.connection_id) == {}  # nothing started


@pytest.mark.parametrize("path", POSTS)
def test_a_form_without_the_csrf_token_is_refused(center: Center, path: str) -> None:
    refused = center.client.post(center.url(path), data={"timezone": "UTC"}, headers=HTML)
    assert refused.status_code == 403
    forged = center.client.post(center.url(path), data={"csrf_token": "forged"}, headers=HTML)
    assert forged.status_code == 403


def test_signed_out_every_route_goes_to_the_login_page(center: Center) -> None:
    browser = center.portal.client()
    for path in GETS:
        answer = browser.get(center.url(path), headers=HTML)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=")


def test_an_unknown_import_is_not_found(center: Center) -> None:
    sent = center.client.post(
        center.url("/sync-center/invoices"), data={"csrf_token": center.token()}, headers=HTML
    )
    assert sent.status_code == 404


def test_an_id_no_connection_can_have_is_not_found(center: Center) -> None:
    """PostgreSQL refuses a NUL byte in text: the id is refused before the store is asked."""
    for odd in ("%00", "a%00b", "%E2%80%AE", "x" * 65):
        for path in GETS:
            assert center.client.get(f"/connections/{odd}{path}", headers=HTML).status_code == 404
