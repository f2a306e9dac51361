"""The browser tests' harness: one chromium per session (Playwright driving Debian's chromium with
the flags a closed network needs), a fresh context and page per test, and the real portal app
under uvicorn on a free port beside both emulators on real HTTPS ports.

Chromium trusts the emulators' certificates by their public keys only
(--ignore-certificate-errors-spki-list), so a page from any other origin with a bad certificate
still fails as it would for a user. Without chromium or axe-core the tests skip, except under
CI=true, where they fail (tests/support/browser.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from starlette.applications import Starlette

from d365xero.config import Settings
from d365xero.dataverse.auth import DataverseTokens
from d365xero.dataverse.client import DataverseClient
from d365xero.demo import demo_connection
from d365xero.emulators.core.server import ServerThread
from d365xero.emulators.core.tls import LocalCA, TlsFiles
from d365xero.emulators.dataverse.app import create_app as create_dataverse
from d365xero.jobs.runtime import Runtime, open_runtime
from d365xero.jobs.setup import add_connection
from d365xero.portal import auth
from d365xero.portal.app import create_app
from d365xero.store.models import Connection, User
from d365xero.store.sessions import start_session
from d365xero.store.users import create_user, mark_verified
from d365xero.trust import ca_bundle_file, ssl_context
from tests.portal.conftest import PASSWORD
from tests.support.browser import (
    CHROMIUM,
    CLOSED_NETWORK_FLAGS,
    Screenshots,
    require_browser_parts,
    spki_hash,
)
from tests.support.stripe_fixtures import SECRET_KEY, WEBHOOK_SECRET, StandIn, stand_in
from tests.support.xero_fixtures import CLIENT_ID, CLIENT_SECRET, XeroHarness, build_harness

TENANT = "demo-tenant"


@dataclass(frozen=True)
class EmulatorCertificates:
    ca: LocalCA
    xero: TlsFiles
    dataverse: TlsFiles


@pytest.fixture(scope="session")
def emulator_certificates(tmp_path_factory: pytest.TempPathFactory) -> EmulatorCertificates:
    """One local CA and one certificate per emulator for the session: chromium is told their
    keys when it starts, so every test's emulators serve these same certificates."""
    ca = LocalCA.load_or_create(tmp_path_factory.mktemp("browser-ca"))
    return EmulatorCertificates(ca, ca.issue("xero"), ca.issue("dataverse"))


@pytest.fixture(scope="session")
def browser(emulator_certificates: EmulatorCertificates) -> Iterator[Any]:
    require_browser_parts()
    from playwright.sync_api import sync_playwright

    trusted = ",".join(
        spki_hash(files.certfile.read_bytes())
        for files in (emulator_certificates.xero, emulator_certificates.dataverse)
    )
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[*CLOSED_NETWORK_FLAGS, f"--ignore-certificate-errors-spki-list={trusted}"],
        )
        yield chromium
        chromium.close()
    finally:
        playwright.stop()


def _context(browser: Any, **options: Any) -> Any:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="en-GB", **options
    )
    context.set_default_timeout(15_000)
    return context


def _watched(context: Any) -> tuple[Any, list[str]]:
    """A page whose script errors and Content-Security-Policy refusals are collected: what the
    CSP blocks (an inline script or style a template slipped in) is broken for users too."""
    page, problems = context.new_page(), []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))

    def console(message: Any) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            problems.append(f"{page.url}: {message.text}")

    page.on("console", console)
    return page, problems


def _closed(context: Any, problems: list[str]) -> None:
    context.close()
    if problems:
        pytest.fail("the pages broke in the browser:\n" + "\n".join(problems[:20]))


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = _context(browser)
    page, problems = _watched(context)
    yield page
    _closed(context, problems)


@pytest.fixture
def nojs_page(browser: Any) -> Iterator[Any]:
    """A page with JavaScript off: every form must still work ("forms work without JavaScript").
    check_axe needs JavaScript: run it on `page`."""
    context = _context(browser, java_script_enabled=False)
    page, problems = _watched(context)
    yield page
    _closed(context, problems)


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Screenshots:
    """`screenshot(page, "name")` keeps the page's PNG under tests/browser/artifacts/<test>/."""
    return Screenshots.for_test(request.node.nodeid)


# --- the emulators and the portal on real ports -------------------------------------------------


@dataclass
class Emulators:
    xero: XeroHarness  # .url, .emulator (the backend), .client()
    dataverse: Starlette  # .state.emulator: the Organisation
    xero_url: str
    dataverse_url: str
    ca_file: Path


@pytest.fixture
def emulators(emulator_certificates: EmulatorCertificates, xero_specs: None) -> Iterator[Emulators]:
    """Both emulators seeded with the demo organisation, over HTTPS on free loopback ports."""
    xero = build_harness()
    xero.emulator.seed()
    dataverse = create_dataverse(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, tenant=TENANT)
    dataverse.state.emulator.seed()
    certs = emulator_certificates
    with (
        ServerThread(xero.validator, tls=certs.xero) as xero_server,
        ServerThread(dataverse, tls=certs.dataverse) as dataverse_server,
    ):
        xero.url = xero_server.url
        yield Emulators(xero, dataverse, xero_server.url, dataverse_server.url, certs.ca.cert_path)
    xero.check()


@dataclass
class Portal:
    """The portal as served; `user`, `sign_in` and `connection` set up what a test does not
    walk through itself (tests/portal/conftest.py does the same without a browser)."""

    url: str
    app: FastAPI
    runtime: Runtime
    settings: Settings
    emulators: Emulators
    stripe: StandIn
    http: httpx.Client  # trusts the emulators' CA

    def user(self, email: str = "ada@example.com", password: str = PASSWORD) -> User:
        """A user with a verified address."""
        with self.runtime.sessions.begin() as session:
            made = create_user(session, email, password)
            mark_verified(made)
            session.flush()
            session.expunge(made)
            return made

    def sign_in(self, page: Any, user: User) -> None:
        """The browser signed in as a real login leaves it: the session cookie."""
        with self.runtime.sessions.begin() as session:
            token, _ = start_session(session, session.merge(user), remember=False)
        page.context.add_cookies([{"name": auth.COOKIE, "value": token, "url": self.url}])

    def connection(self, user: User) -> Connection:
        """The demo connection to both emulators, the user's, made as `connection add` makes
        it (its rows in Dynamics, Xero's reference data imported)."""
        new = demo_connection(self.emulators.xero_url, self.emulators.dataverse_url)
        made, _ = add_connection(
            self.settings,
            self.runtime.sessions,
            self.runtime.box,
            replace(new, user_id=user.id),
        )
        return made

    def dynamics(self) -> DataverseClient:
        """Dynamics as its people change it (the Web API, as the emulator's application user)."""
        url = self.emulators.dataverse_url
        tokens = DataverseTokens(
            org_url=url,
            tenant=TENANT,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            authority=url,
            ca_bundle=ca_bundle_file(self.emulators.ca_file, self.settings.data_dir),
        )
        return DataverseClient(self.http, url, tokens)


@pytest.fixture
def portal(tmp_path: Path, emulators: Emulators) -> Iterator[Portal]:
    """The real app of `d365xero serve` (create_app) under uvicorn on a free port, on a fresh
    SQLite store, reaching both emulators through the local CA, its registered apps the
    emulators' demo app, Stripe the stand-in (its events sent to the portal's webhook)."""
    with stand_in() as stripe, httpx.Client(verify=ssl_context(emulators.ca_file)) as http:
        settings = Settings(
            data_dir=tmp_path / "data",
            database_url=f"sqlite:///{tmp_path / 'store.sqlite3'}",
            ca_bundle=emulators.ca_file,
            xero_url=emulators.xero_url,
            xero_client_id=CLIENT_ID,
            xero_client_secret=SecretStr(CLIENT_SECRET),
            dataverse_client_id=CLIENT_ID,
            dataverse_client_secret=SecretStr(CLIENT_SECRET),
            stripe_url=stripe.url,
            stripe_secret_key=SecretStr(SECRET_KEY),
            stripe_webhook_secret=SecretStr(WEBHOOK_SECRET),
        )
        runtime = open_runtime(settings)
        app = create_app(settings, runtime=runtime, stripe_http=stripe.http())
        with ServerThread(app) as server:
            stripe.backend.sender.register(f"{server.url}/webhooks/stripe", retry_delays=(0.2,))
            runtime.settings = settings.model_copy(update={"public_url": server.url})
            yield Portal(server.url, app, runtime, settings, emulators, stripe, http)
        runtime.close()
    stripe.check()
