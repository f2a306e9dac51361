"""Entra ID in front of the Dataverse emulator: client credentials, Entra's error bodies, the
OpenID metadata, and msal acquiring a token over real HTTPS."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import msal
import pytest
import requests
from tests.support.dataverse_fixtures import DataverseHarness, DataverseServer

TOKEN = "/demo-tenant/oauth2/v2.0/token"


def _form(**overrides: str) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_id": "d365xero-demo",
        "client_secret": "demo-secret",
        "scope": "http://testserver/.default",
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v}


def test_client_credentials_token(dataverse_app: DataverseHarness) -> None:
    response = dataverse_app.client().post(TOKEN, data=_form())
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3599
    claims = json.loads(base64.urlsafe_b64decode(body["access_token"].split(".")[1] + "=="))
    assert claims["aud"] == "http://testserver"
    assert claims["exp"] - claims["iat"] == 3599
    assert claims["tid"] == dataverse_app.org.entra.tenant_id


def test_client_secret_in_basic_auth(dataverse_app: DataverseHarness) -> None:
    basic = base64.b64encode(b"d365xero-demo:demo-secret").decode()
    response = dataverse_app.client().post(
        TOKEN,
        data=_form(client_id="", client_secret=""),
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("overrides", "status", "error", "code"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client", 7000215),
        ({"client_id": "someone-else"}, 400, "unauthorized_client", 700016),
        ({"scope": "openid"}, 400, "invalid_scope", 1002012),
        ({"scope": "https://other.crm.dynamics.com/.default"}, 400, "invalid_resource", 500011),
        ({"grant_type": "password"}, 400, "unsupported_grant_type", 70003),
    ],
)
def test_token_errors_are_entras(
    dataverse_app: DataverseHarness, overrides: dict[str, str], status: int, error: str, code: int
) -> None:
    response = dataverse_app.client().post(TOKEN, data=_form(**overrides))
    assert response.status_code == status
    body = response.json()
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert {"timestamp", "trace_id", "correlation_id"} <= set(body)


def test_unknown_tenant(dataverse_app: DataverseHarness) -> None:
    response = dataverse_app.client().post("/other-tenant/oauth2/v2.0/token", data=_form())
    assert response.status_code == 400
    assert response.json()["error_codes"] == [90002]


def test_openid_configuration_as_msal_reads_it(dataverse_app: DataverseHarness) -> None:
    config = dataverse_app.client().get("/demo-tenant/v2.0/.well-known/openid-configuration").json()
    tenant_id = dataverse_app.org.entra.tenant_id
    assert config["token_endpoint"] == f"http://testserver/{tenant_id}/oauth2/v2.0/token"
    assert (
        config["authorization_endpoint"] == f"http://testserver/{tenant_id}/oauth2/v2.0/authorize"
    )
    assert config["issuer"] == f"http://testserver/{tenant_id}/v2.0"
    # The tenant id in the endpoints works like the tenant's name.
    assert (
        dataverse_app.client().post(f"/{tenant_id}/oauth2/v2.0/token", data=_form()).status_code
        == 200
    )


@pytest.fixture
def session(dataverse_server: DataverseServer) -> Iterator[requests.Session]:
    """Closed before the server stops, so no keep-alive connection holds its shutdown."""
    with _trusting(dataverse_server) as session:
        yield session


def _trusting(server: DataverseServer) -> requests.Session:
    """A session that trusts the emulator's CA (and ignores REQUESTS_CA_BUNDLE, which requests
    would otherwise prefer to `session.verify`)."""
    session = requests.Session()
    session.trust_env = False
    session.verify = str(server.ca_file)
    return session


def test_msal_acquires_a_token_over_https_and_it_opens_the_web_api(
    dataverse_server: DataverseServer, session: requests.Session
) -> None:
    app = msal.ConfidentialClientApplication(
        "d365xero-demo",
        client_credential="demo-secret",
        authority=f"{dataverse_server.url}/demo-tenant",
        instance_discovery=False,
        http_client=session,
    )
    result = app.acquire_token_for_client(scopes=[f"{dataverse_server.url}/.default"])
    assert "access_token" in result, result
    assert result["token_type"] == "Bearer"
    who = session.get(
        f"{dataverse_server.url}/api/data/v9.2/WhoAmI",
        headers={"Authorization": f"Bearer {result['access_token']}"},
    )
    assert who.status_code == 200
    assert who.json()["UserId"] == dataverse_server.org.user_id


def test_msal_reports_entras_error_for_a_wrong_secret(
    dataverse_server: DataverseServer, session: requests.Session
) -> None:
    app = msal.ConfidentialClientApplication(
        "d365xero-demo",
        client_credential="not-the-secret",
        authority=f"{dataverse_server.url}/demo-tenant",
        instance_discovery=False,
        http_client=session,
    )
    result = app.acquire_token_for_client(scopes=[f"{dataverse_server.url}/.default"])
    assert result["error"] == "invalid_client"
    assert 7000215 in result["error_codes"]


def test_the_emulator_is_not_trusted_without_its_ca(dataverse_server: DataverseServer) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(
            f"{dataverse_server.url}/demo-tenant/v2.0/.well-known/openid-configuration", timeout=5
        )
