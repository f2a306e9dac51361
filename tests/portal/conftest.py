"""The portal as a browser meets it, without a browser: the real app (create_app) over a real
store, driven by Starlette's TestClient, with users made in the store and signed in through
the real session cookie. Emulator-backed tests use tests/integration's `stack` the same way."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from d365xero.config import Settings
from d365xero.jobs.runtime import Runtime, open_runtime
from d365xero.portal import auth
from d365xero.portal.app import create_app
from d365xero.store.models import User
from d365xero.store.sessions import start_session
from d365xero.store.users import create_user

PASSWORD = "correct horse battery staple 42"
# Every page carries it for HTMX (body hx-headers), pages with forms in each form too.
_TOKEN = re.compile(r'"X-CSRF-Token": "([^"]+)"')


@dataclass
class Portal:
    app: FastAPI
    runtime: Runtime

    def client(self, address: str = "testclient") -> TestClient:
        """`address`: the client's IP address as the app sees it ("127.0.0.1": this machine,
        for the outbox)."""
        # Redirects are looked at, not followed: where a form sends the browser is the answer.
        client = TestClient(self.app, follow_redirects=False, client=(address, 50000))
        if address in ("127.0.0.1", "::1"):  # and it asks for this machine by name too
            client.base_url = f"http://{'[::1]' if ':' in address else address}"  # type: ignore[assignment]
        return client

    def user(self, email: str = "ada@example.com", password: str = PASSWORD) -> User:
        with self.runtime.sessions.begin() as session:
            return create_user(session, email, password)

    def sign_in(self, client: TestClient, user: User, *, remember: bool = False) -> None:
        """Signed in as a real login leaves the browser: the session cookie."""
        with self.runtime.sessions.begin() as session:
            token, _ = start_session(session, user, remember=remember)
        client.cookies.set(auth.COOKIE, token)

    def signed_in_client(self, email: str = "ada@example.com") -> tuple[TestClient, User]:
        client, user = self.client(), self.user(email)
        self.sign_in(client, user)
        return client, user


def csrf_token(client: TestClient, path: str = "/") -> str:
    """The token a page's forms carry (a GET of the page sets the browser's CSRF cookie)."""
    # Followed: "/" sends a signed-in user on to their connections.
    page = client.get(path, headers={"accept": "text/html"}, follow_redirects=True)
    found = _TOKEN.search(page.text)
    assert found, f"no CSRF token on {path} ({page.status_code})"
    return found.group(1)


def make_portal(tmp_path: Path, database_url: str, **settings: object) -> Portal:
    config = Settings(data_dir=tmp_path, database_url=database_url, **settings)  # type: ignore[arg-type]
    runtime = open_runtime(config)
    return Portal(create_app(config, runtime=runtime), runtime)


@pytest.fixture
def portal(tmp_path: Path, database_url: str) -> Iterator[Portal]:
    made = make_portal(tmp_path, database_url)
    yield made
    made.runtime.close()
