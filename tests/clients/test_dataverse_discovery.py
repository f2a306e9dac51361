"""Discovery: the organisation's unauthenticated challenge gives the Entra ID authority and
tenant, which pass the URL policy; what is not a Dataverse, or does not answer, says so."""

from __future__ import annotations

import httpx
import pytest

from d365xero.dataverse.discovery import Challenge, discover
from d365xero.emulators.core.server import ServerThread, free_port
from d365xero.emulators.dataverse.app import create_app
from d365xero.emulators.xero.app import create_app as create_xero
from d365xero.errors import ConfigurationError, TransientError


def test_the_emulator_names_its_own_entra_endpoint() -> None:
    app = create_app()
    with ServerThread(app) as server, httpx.Client() as http:
        challenge = discover(http, server.url)
    tenant = app.state.emulator.entra.tenant_id
    assert challenge == Challenge(server.url, tenant, server.url + "/")


def test_a_discovered_plain_http_authority_is_refused() -> None:
    # The organisation is reached under a name that is not this machine (its Host, as behind a
    # proxy), so its challenge names an http authority elsewhere: a client secret must not go
    # there.
    with (
        ServerThread(create_app()) as server,
        httpx.Client(headers={"Host": "org.example"}) as http,
        pytest.raises(ConfigurationError) as refused,
    ):
        discover(http, server.url)
    assert str(refused.value).startswith(
        f"the Entra ID authority named by {server.url} http://org.example is plain http"
    )


def test_what_is_not_a_dataverse_organisation_says_so() -> None:
    # The Xero emulator given as the Dynamics URL: its 404 carries no challenge.
    with (
        ServerThread(create_xero()) as xero,
        httpx.Client() as http,
        pytest.raises(ConfigurationError) as refused,
    ):
        discover(http, xero.url)
    assert str(refused.value) == (
        f"{xero.url} does not look like a Dynamics 365 organisation: GET /api/data/v9.2/ "
        "answered HTTP 404 without Entra ID's Bearer challenge; give the organisation URL (e.g. "
        "https://ORG.crm.dynamics.com), or --dataverse-tenant and --dataverse-authority for one "
        "that does not name its authority"
    )


def test_nothing_answering_names_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with httpx.Client() as http, pytest.raises(TransientError) as failed:
        discover(http, url)
    assert str(failed.value).startswith(f"nothing answers at {url}: connection refused;")
