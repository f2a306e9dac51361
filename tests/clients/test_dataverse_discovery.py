"""Discovery: the organisation's unauthenticated challenge gives the Entra ID authority and
tenant, which pass the URL policy; what is not a Dataverse, or does not answer, says so."""

from __future__ import annotations

import httpx
import pytest
from starlette.testclient import TestClient

from d365xero.dataverse.discovery import Challenge, discover
from d365xero.emulators.core.server import free_port
from d365xero.emulators.dataverse.app import create_app
from d365xero.emulators.xero.app import create_app as create_xero
from d365xero.errors import ConfigurationError, TransientError
from tests.support.dataverse_fixtures import DataverseHarness


def test_the_emulator_names_its_own_entra_endpoint() -> None:
    dv = DataverseHarness(create_app(), url="http://127.0.0.1:5555")
    challenge = discover(dv.client(), dv.url)
    assert challenge == Challenge("http://127.0.0.1:5555", dv.org.entra.tenant_id, dv.url + "/")
    dv.close()


def test_a_discovered_plain_http_authority_is_refused() -> None:
    # The organisation answers at http://testserver, so its challenge names an http authority
    # that is not this machine: a client secret must not go there.
    dv = DataverseHarness(create_app())
    with pytest.raises(ConfigurationError) as refused:
        discover(dv.client(), dv.url)
    assert str(refused.value).startswith(
        "the Entra ID authority named by http://testserver http://testserver is plain http"
    )
    dv.close()


def test_what_is_not_a_dataverse_organisation_says_so() -> None:
    # The Xero emulator given as the Dynamics URL (the path is not Xero's, so no spec check).
    with TestClient(create_xero()) as xero, pytest.raises(ConfigurationError) as refused:
        discover(xero, "http://testserver")
    assert str(refused.value) == (
        "http://testserver does not look like a Dynamics 365 organisation: GET /api/data/v9.2/ "
        "answered HTTP 404 without Entra ID's Bearer challenge; give the organisation URL (e.g. "
        "https://ORG.crm.dynamics.com), or --dataverse-tenant and --dataverse-authority for one "
        "that does not name its authority"
    )


def test_nothing_answering_names_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with httpx.Client() as http, pytest.raises(TransientError) as failed:
        discover(http, url)
    assert str(failed.value).startswith(f"nothing answers at {url}: connection refused;")
