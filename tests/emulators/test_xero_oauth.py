"""Xero identity: authorization code with PKCE through the consent page, refresh-token rotation
with its grace period, expiry, revocation and disconnection."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any
from urllib.parse import parse_qs, urlparse

from starlette.testclient import TestClient
from tests.support.xero_fixtures import API, CLIENT_ID, CLIENT_SECRET, XeroHarness

from d365xero.emulators.xero import refdata

REDIRECT = "http://localhost:8765/xero/callback"
SCOPE = "openid profile email offline_access accounting.invoices accounting.settings"


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def _authorize_params(challenge: str, **extra: str) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT,
        "scope": SCOPE,
        "state": "xyz-123",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(extra)
    return params


def _consent(client: TestClient, params: dict[str, str], **form: Any) -> Any:
    data = dict(params, email="demo@d365xero.example", password="demo", action="allow")
    data["tenant"] = [refdata.TENANT_ID, refdata.SECOND_TENANT_ID]
    data.update(form)
    return client.post("/identity/connect/authorize", data=data, follow_redirects=False)


def _login(client: TestClient) -> dict[str, Any]:
    verifier, challenge = _pkce()
    response = _consent(client, _authorize_params(challenge))
    assert response.status_code == 302, response.text
    code = parse_qs(urlparse(response.headers["location"]).query)["code"][0]
    token = client.post(
        "/connect/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": CLIENT_ID,
            "code_verifier": verifier,
        },
    )
    assert token.status_code == 200, token.text
    body: dict[str, Any] = token.json()
    return body


def _refresh(client: TestClient, refresh_token: str) -> Any:
    return client.post(
        "/connect/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )


def test_consent_page_then_pkce_exchange(xero_app: XeroHarness) -> None:
    client = xero_app.client()
    verifier, challenge = _pkce()
    page = client.get("/identity/connect/authorize", params=_authorize_params(challenge))
    assert page.status_code == 200
    assert "Demo Company (UK)" in page.text and "Demo Company (Second)" in page.text
    response = _consent(client, _authorize_params(challenge))
    assert response.status_code == 302
    location = urlparse(response.headers["location"])
    query = parse_qs(location.query)
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    assert query["state"] == ["xyz-123"]
    code = query["code"][0]
    exchange = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": CLIENT_ID,
    }
    wrong = client.post("/connect/token", data=dict(exchange, code_verifier="x" * 43))
    assert wrong.json() == {"error": "invalid_grant"}
    tokens = client.post("/connect/token", data=dict(exchange, code_verifier=verifier)).json()
    assert tokens["expires_in"] == 1800 and tokens["token_type"] == "Bearer"
    assert {"access_token", "refresh_token", "id_token", "scope"} <= set(tokens)
    claims = json.loads(base64.urlsafe_b64decode(tokens["id_token"].split(".")[1] + "=="))
    assert claims["email"] == "demo@d365xero.example" and claims["aud"] == CLIENT_ID
    reused = client.post("/connect/token", data=dict(exchange, code_verifier=verifier))
    assert reused.json() == {"error": "invalid_grant"}  # codes are single use
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    connections = client.get("/Connections", headers=bearer).json()
    assert {c["tenantName"] for c in connections} == {"Demo Company (UK)", "Demo Company (Second)"}
    second = client.get(
        f"{API}/Organisation",
        headers=dict(
            bearer, **{"xero-tenant-id": refdata.SECOND_TENANT_ID, "Accept": "application/json"}
        ),
    )
    assert second.json()["Organisations"][0]["Name"] == "Demo Company (Second)"


def test_consent_page_errors(xero_app: XeroHarness) -> None:
    client = xero_app.client()
    _, challenge = _pkce()
    params = _authorize_params(challenge)
    bad_password = _consent(client, params, password="nope")
    assert bad_password.status_code == 200
    assert "Your email or password is incorrect" in bad_password.text
    no_org = _consent(client, params, tenant=[])
    assert "Select at least one organisation" in no_org.text
    denied = _consent(client, params, action="deny")
    assert parse_qs(urlparse(denied.headers["location"]).query)["error"] == ["access_denied"]
    unknown_client = client.get(
        "/identity/connect/authorize", params=dict(params, client_id="someone-else")
    )
    assert unknown_client.status_code == 400
    bad_scope = client.get(
        "/identity/connect/authorize",
        params=dict(params, scope="openid accounting.everything"),
        follow_redirects=False,
    )
    assert parse_qs(urlparse(bad_scope.headers["location"]).query)["error"] == ["invalid_scope"]


def test_refresh_rotates_with_a_grace_period(xero_app: XeroHarness) -> None:
    client, clock = xero_app.client(), xero_app.emulator.clock
    first = _login(client)["refresh_token"]
    rotated = _refresh(client, first)
    assert rotated.status_code == 200
    second = rotated.json()["refresh_token"]
    assert second != first
    clock.advance(29 * 60)
    assert _refresh(client, first).status_code == 200  # a lost response may be retried
    clock.advance(2 * 60)
    assert _refresh(client, first).json() == {"error": "invalid_grant"}
    third = _refresh(client, second)
    assert third.status_code == 200
    clock.advance(61 * 86_400)  # unused refresh tokens expire after 60 days
    assert _refresh(client, third.json()["refresh_token"]).json() == {"error": "invalid_grant"}


def test_revocation_ends_the_grant_and_its_connections(xero_app: XeroHarness) -> None:
    client = xero_app.client()
    tokens = _login(client)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    revoked = client.post(
        "/connect/revocation",
        data={
            "token": tokens["refresh_token"],
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )
    assert revoked.status_code == 200
    assert client.get("/Connections", headers=bearer).status_code == 401
    assert _refresh(client, tokens["refresh_token"]).json() == {"error": "invalid_grant"}
    # The custom connection of client credentials is untouched.
    assert (
        len(
            client.get(
                "/Connections", headers={"Authorization": f"Bearer {xero_app.token()}"}
            ).json()
        )
        == 1
    )


def test_disconnect_one_organisation(xero_app: XeroHarness) -> None:
    client = xero_app.client()
    bearer = {"Authorization": f"Bearer {_login(client)['access_token']}"}
    connections = client.get("/Connections", headers=bearer).json()
    gone = client.delete(f"/Connections/{connections[0]['id']}", headers=bearer)
    assert gone.status_code == 204
    assert len(client.get("/Connections", headers=bearer).json()) == 1
    again = client.delete(f"/Connections/{connections[0]['id']}", headers=bearer)
    assert again.status_code == 404


def test_discovery_document_points_at_the_emulator(xero_app: XeroHarness) -> None:
    document = xero_app.client().get("/.well-known/openid-configuration").json()
    assert document["authorization_endpoint"] == "http://testserver/identity/connect/authorize"
    assert document["token_endpoint"] == "http://testserver/connect/token"
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert "accounting.invoices" in document["scopes_supported"]
