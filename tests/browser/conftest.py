"""The browser tests' harness: one chromium per session (Playwright driving Debian's chromium with
the flags a closed network needs), a fresh context and page per test, and the real portal app
under uvicorn on a free port beside both emulators on real HTTPS ports.

Chromium trusts the emulators' certificates by their public keys only
(--ignore-certificate-errors-spki-list), so a page from any other origin with a bad certificate
still fails as it would for a user. Without chromium or axe-core the tests skip, except under
CI=true, where they fail (tests/support/browser.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette

from d365xero.config import Settings
from d365xero.emulators.core.server import ServerThread
from d365xero.emulators.core.tls import LocalCA, TlsFiles
from d365xero.emulators.dataverse.app import create_app as create_dataverse
from d365xero.jobs.runtime import Runtime, open_runtime
from d365xero.portal.app import create_app
from tests.support.browser import (
    CHROMIUM,
    CLOSED_NETWORK_FLAGS,
    Screenshots,
    require_browser_parts,
    spki_hash,
)
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


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = _context(browser)
    yield context.new_page()
    context.close()


@pytest.fixture
def nojs_page(browser: Any) -> Iterator[Any]:
    """A page with JavaScript off: every form must still work ("forms work without JavaScript").
    Note that check_axe needs JavaScript; run it on `page`."""
    context = _context(browser, java_script_enabled=False)
    yield context.new_page()
    context.close()


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
    url: str
    runtime: Runtime
    settings: Settings
    emulators: Emulators


@pytest.fixture
def portal(tmp_path: Path, emulators: Emulators) -> Iterator[Portal]:
    """The real app of `d365xero serve` (create_app) under uvicorn on a free port, on a fresh
    SQLite store, reaching both emulators through the local CA."""
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'store.sqlite3'}",
        ca_bundle=emulators.ca_file,
        xero_url=emulators.xero_url,
    )
    runtime = open_runtime(settings)
    app = create_app(settings, runtime=runtime)
    with ServerThread(app) as server:
        runtime.settings = settings.model_copy(update={"public_url": server.url})
        yield Portal(server.url, runtime, settings, emulators)
    runtime.close()
