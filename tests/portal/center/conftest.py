"""The Synchronisation Center, Connector Settings and Field mapping pages over the real stack:
both emulators on loopback ports, the store on SQLite and PostgreSQL, the portal app built on
the stack's runtime, and a signed-in user who owns the stack's connection."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser

import pytest
from starlette.testclient import TestClient

from d365xero.portal.app import create_app
from d365xero.store.models import Connection
from tests.integration.conftest import Stack, stack  # noqa: F401  (the fixture)
from tests.portal.conftest import Portal, csrf_token

HTML = {"accept": "text/html"}
HTMX = {"accept": "text/html", "hx-request": "true"}


@dataclass
class Center:
    portal: Portal
    stack: Stack
    client: TestClient  # signed in as the connection's owner
    connection_id: str

    def url(self, path: str = "") -> str:
        return f"/connections/{self.connection_id}{path}"

    def token(self, path: str = "/sync-center") -> str:
        return csrf_token(self.client, self.url(path))

    def wait_for_import(self, kind: str, timeout: float = 60.0) -> str:
        """Poll the status fragment as the page does until `kind`'s import has ended; its
        result's HTML."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            panel = self.client.get(self.url("/sync-center/status"), headers=HTMX)
            assert panel.status_code == 200, panel.text
            if 'hx-trigger="every 1s"' not in panel.text:
                return panel.text
            time.sleep(0.1)
        raise AssertionError(f"the {kind} import did not end")


@pytest.fixture
def center(stack: Stack) -> Iterator[Center]:  # noqa: F811
    portal = Portal(create_app(stack.runtime.settings, runtime=stack.runtime), stack.runtime)
    client, user = portal.signed_in_client()
    with stack.runtime.sessions.begin() as session:
        connection = session.get(Connection, stack.connection.id)
        assert connection is not None
        connection.user_id = user.id
    with client:
        yield Center(portal, stack, client, stack.connection.id)


@pytest.fixture
def stranger(center: Center) -> TestClient:
    """Another signed-in user, who owns nothing."""
    client, _ = center.portal.signed_in_client("mallory@example.com")
    return client


class _FormReader(HTMLParser):
    """The fields a browser would send for the page's first POST form with `action`."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.done = action, False, False
        self.fields: dict[str, str] = {}
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and not self.done and a.get("action") == self.action:
            self.inside = True
        if not self.inside:
            return
        if tag == "input" and a.get("name") and a.get("type") != "checkbox":
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a.get("name")
            self.fields.setdefault(self._select or "", "")
        elif tag == "option" and self._select and "selected" in a:
            self.fields[self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        if tag == "form" and self.inside:
            self.inside, self.done = False, True


def form_of(page: str, action: str) -> dict[str, str]:
    reader = _FormReader(action)
    reader.feed(page)
    assert reader.done, f"no form posting to {action}"
    return reader.fields
