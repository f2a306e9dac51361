"""Authorization code with PKCE through the emulator's sign-in and consent page, driven by msal
over HTTPS as the portal's "Connect to Dynamics" will be."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msal
import pytest
import requests
from tests.support.dataverse_fixtures import DataverseHarness, DataverseServer

from d365xero.emulators.dataverse.sample import ADMIN_PASSWORD, ADMIN_USERNAME

REDIRECT = "http://localhost:8400/dynamics/callback"


@pytest.fixture
def session(dataverse_server: DataverseServer) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        session.verify = str(dataverse_server.ca_file)
        yield session


def _msal(server: DataverseServer, session: requests.Session) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        "d365xero-demo",
        client_credential="demo-secret",
        authority=f"{server.url}/demo-tenant",
        instance_discovery=False,
        http_client=session,
    )


def _form_fields(html: str) -> dict[str, str]:
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))
    return {k: unescape(v) for k, v in fields.items()}


def _sign_in(session: requests.Session, auth_uri: str, org: str, **overrides: str) -> Any:
    page = session.get(auth_uri)
    assert page.status_code == 200
    assert "wants to access Dynamics 365 on your behalf" in page.text
    form = _form_fields(page.text) | {
        "username": ADMIN_USERNAME,
        "password": ADMIN_PASSWORD,
        "organisation": org,
        "consent": "accept",
        **overrides,
    }
    return session.post(auth_uri.split("?")[0], data=form, allow_redirects=False)


def test_msal_auth_code_flow_with_pkce(
    dataverse_server: DataverseServer, session: requests.Session
) -> None:
    app = _msal(dataverse_server, session)
    flow = app.initiate_auth_code_flow(
        scopes=[f"{dataverse_server.url}/user_impersonation"], redirect_uri=REDIRECT
    )
    assert "code_challenge=" in flow["auth_uri"]
    answer = _sign_in(session, flow["auth_uri"], dataverse_server.url)
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert params["state"] == flow["state"]
    result = app.acquire_token_by_auth_code_flow(flow, params)
    assert "access_token" in result, result
    assert result["id_token_claims"]["preferred_username"] == ADMIN_USERNAME
    who = session.get(
        f"{dataverse_server.url}/api/data/v9.2/WhoAmI",
        headers={"Authorization": f"Bearer {result['access_token']}"},
    ).json()
    user = dataverse_server.org.get("systemuser", who["UserId"])
    assert user["fullname"] == "Demo Admin"
    # The refresh token works, as msal uses it silently.
    account = app.get_accounts()[0]
    again = app.acquire_token_silent_with_error(
        [f"{dataverse_server.url}/user_impersonation"], account, force_refresh=True
    )
    assert again and "access_token" in again, again


def test_cancel_wrong_password_and_replayed_codes(
    dataverse_server: DataverseServer, session: requests.Session
) -> None:
    app = _msal(dataverse_server, session)
    scopes = [f"{dataverse_server.url}/user_impersonation"]
    flow = app.initiate_auth_code_flow(scopes=scopes, redirect_uri=REDIRECT)
    wrong = _sign_in(session, flow["auth_uri"], dataverse_server.url, password="nope")
    assert wrong.status_code == 200 and "AADSTS50126" in wrong.text
    cancelled = _sign_in(session, flow["auth_uri"], dataverse_server.url, consent="cancel")
    query = parse_qs(urlsplit(cancelled.headers["Location"]).query)
    assert query["error"] == ["access_denied"]
    assert query["error_description"][0].startswith("AADSTS65004")

    answer = _sign_in(session, flow["auth_uri"], dataverse_server.url)
    params = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}
    assert "access_token" in app.acquire_token_by_auth_code_flow(dict(flow), params)
    replay = app.acquire_token_by_auth_code_flow(dict(flow), params)
    assert replay["error"] == "invalid_grant" and 54005 in replay["error_codes"]


VERIFIER = "k3Y8vQ-2pLr_xN7eW1tZ9aB4cD6fG0hJ5mS.tU~vX3yA8"


def _s256(verifier: str) -> str:
    """RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier))), no padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _token_form(code: str, verifier: str) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "client_id": "d365xero-demo",
        "client_secret": "demo-secret",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }


def test_pkce_verifier_must_match_and_codes_expire(dataverse_app: DataverseHarness) -> None:
    client = dataverse_app.client()
    query = {
        "client_id": "d365xero-demo",
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "http://testserver/user_impersonation offline_access",
        "state": "s1",
        "code_challenge": _s256(VERIFIER),
        "code_challenge_method": "S256",
    }
    form = query | {
        "username": ADMIN_USERNAME,
        "password": ADMIN_PASSWORD,
        "organisation": "http://testserver",
        "consent": "accept",
    }

    def code() -> str:
        answer = client.post(
            "/demo-tenant/oauth2/v2.0/authorize", data=form, follow_redirects=False
        )
        return parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]

    token = "/demo-tenant/oauth2/v2.0/token"
    bad = client.post(token, data=_token_form(code(), "not-the-verifier"))
    assert bad.status_code == 400 and bad.json()["error_codes"] == [501481]
    assert client.post(token, data=_token_form(code(), VERIFIER)).status_code == 200
    stale = code()
    dataverse_app.org.clock.advance(601)
    expired = client.post(token, data=_token_form(stale, VERIFIER))
    assert expired.json()["error_codes"] == [70008]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"client_id": "stranger"}, "AADSTS700016"),
        ({"redirect_uri": "https://evil.example/callback"}, "AADSTS50011"),
        ({"scope": "https://other.crm.dynamics.com/user_impersonation"}, "AADSTS70011"),
    ],
)
def test_authorize_errors_are_shown_on_entras_page(
    dataverse_app: DataverseHarness, change: dict[str, str], code: str
) -> None:
    query = {
        "client_id": "d365xero-demo",
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "http://testserver/user_impersonation",
    } | change
    page = dataverse_app.client().get("/demo-tenant/oauth2/v2.0/authorize", params=query)
    assert page.status_code == 400 and code in page.text


def test_form_post_response_mode(
    dataverse_server: DataverseServer, session: requests.Session
) -> None:
    app = _msal(dataverse_server, session)
    flow = app.initiate_auth_code_flow(
        scopes=[f"{dataverse_server.url}/user_impersonation"],
        redirect_uri=REDIRECT,
        response_mode="form_post",
    )
    answer = _sign_in(session, flow["auth_uri"], dataverse_server.url)
    assert answer.status_code == 200
    assert f'action="{REDIRECT}"' in answer.text
    posted = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', answer.text))
    assert "access_token" in app.acquire_token_by_auth_code_flow(flow, posted)
