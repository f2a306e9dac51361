"""The application user's security role in the Dataverse emulator: a missing privilege is a 403
PrivilegeDenied naming it, as Dataverse answers; and the 401 challenge names the emulator's own
Entra endpoint, where a token can be had."""

from __future__ import annotations

import re

from tests.support.dataverse_fixtures import API, CLIENT_ID, CLIENT_SECRET, DataverseHarness

from d365xero.emulators.dataverse.app import create_app


def _harness() -> DataverseHarness:
    return DataverseHarness(create_app(), url="http://127.0.0.1")


def test_a_revoked_privilege_is_named_in_a_403() -> None:
    dv = _harness()
    client, headers = dv.client(), dv.headers()
    assert client.get(f"{API}/dxc_connections", headers=headers).status_code == 200
    revoked = client.post("/_emulator/privileges", json={"revoke": ["prvReaddxc_Connection"]})
    assert revoked.json() == {"revoked": ["prvreaddxc_connection"]}
    denied = client.get(f"{API}/dxc_connections", headers=headers)
    assert denied.status_code == 403
    error = denied.json()["error"]
    assert error["code"] == "0x80040220"
    assert re.fullmatch(
        r"Principal user \(Id=[0-9a-f-]{36}, type=8, roleCount=1, privilegeCount=\d+, "
        r"accessMode=0\), is missing prvReaddxc_Connection privilege \(Id=[0-9a-f-]{36}\) on "
        r"OTC=\d+ for entity 'dxc_connection' \(LocalizedName='[^']+'\)\. "
        r"context\.Caller=[0-9a-f-]{36}",
        error["message"],
    )
    # Other tables and operations are untouched; a grant gives it back.
    assert client.get(f"{API}/dxc_settings", headers=headers).status_code == 200
    client.post("/_emulator/privileges", json={"grant": ["prvReaddxc_connection"]})
    assert client.get(f"{API}/dxc_connections", headers=headers).status_code == 200
    dv.close()


def test_an_upsert_that_creates_needs_create_one_that_changes_needs_write() -> None:
    dv = _harness()
    client, headers = dv.client(), dv.headers()
    row = f"{API}/dxc_connections(00000000-0000-0000-0000-0000000000aa)"
    client.post("/_emulator/privileges", json={"revoke": ["prvCreatedxc_Connection"]})
    denied = client.patch(row, json={"dxc_name": "A"}, headers=headers)
    assert denied.status_code == 403 and "prvCreatedxc_Connection" in denied.text
    client.post("/_emulator/privileges", json={"grant": ["prvCreatedxc_Connection"]})
    assert client.patch(row, json={"dxc_name": "A"}, headers=headers).status_code == 204
    client.post("/_emulator/privileges", json={"revoke": ["prvWritedxc_Connection"]})
    denied = client.patch(row, json={"dxc_name": "B"}, headers=headers)
    assert denied.status_code == 403 and "prvWritedxc_Connection" in denied.text
    client.post("/_emulator/reset")  # a reset gives the role back whole
    assert client.get("/_emulator/privileges").json() == {"revoked": []}
    dv.close()


def test_the_challenge_points_at_the_emulators_own_entra_endpoint() -> None:
    dv = _harness()
    client = dv.client()
    challenge = client.get(f"{API}/").headers["WWW-Authenticate"]
    found = re.fullmatch(
        r"Bearer authorization_uri=(http://127\.0\.0\.1)/([0-9a-f-]{36})/oauth2/authorize, "
        r"resource_id=http://127\.0\.0\.1/",
        challenge,
    )
    assert found, challenge
    authority, tenant = found.groups()
    assert tenant == dv.org.entra.tenant_id
    metadata = client.get(f"/{tenant}/v2.0/.well-known/openid-configuration").json()
    token = client.post(
        metadata["token_endpoint"].removeprefix(authority),
        data={
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "scope": "http://127.0.0.1/.default",
        },
    )
    assert token.status_code == 200 and token.json()["token_type"] == "Bearer"
    dv.close()
