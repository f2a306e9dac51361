"""The browser harness proved on pages that exist without the portal: both emulators' consent
pages, signed in and accepted in chromium as a user would, the codes they return exchanged for
tokens; axe-core on each; the forms with JavaScript off; and check_axe failing on a bad page."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import msal
import pytest
import requests

from d365xero.emulators.dataverse.sample import ADMIN_PASSWORD, ADMIN_USERNAME
from d365xero.emulators.xero.identity import OPENID_SCOPES
from d365xero.trust import ssl_context
from tests.browser.conftest import Portal
from tests.support.browser import Screenshots, check_axe
from tests.support.xero_fixtures import CLIENT_ID, CLIENT_SECRET

pytestmark = pytest.mark.slow

XERO_SCOPES = " ".join([*sorted(OPENID_SCOPES), "accounting.invoices", "accounting.settings"])


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _xero_authorize_url(portal: Portal, state: str, verifier: str) -> str:
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        # Any page of the portal will do as the redirect target until it has its callback.
        "redirect_uri": f"{portal.url}/healthz",
        "scope": XERO_SCOPES,
        "state": state,
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
    }
    return f"{portal.emulators.xero_url}/identity/connect/authorize?{urlencode(params)}"


def _sign_in_to_xero(page: Any, portal: Portal, screenshot: Screenshots | None) -> dict[str, str]:
    state, verifier = secrets.token_urlsafe(16), secrets.token_urlsafe(48)
    page.goto(_xero_authorize_url(portal, state, verifier))
    page.get_by_label("Email address").fill("demo@d365xero.example")
    page.get_by_label("Password").fill("demo")
    page.get_by_label("Demo Company (UK)").check()
    if screenshot:
        check_axe(page)
        screenshot(page, "xero-consent")
    with page.expect_navigation(url=f"{portal.url}/healthz?*"):
        page.get_by_role("button", name="Allow access").click()
    answer = _query(page.url)
    assert answer["state"] == state, answer
    return {"code": answer["code"], "verifier": verifier}


def test_xero_consent_page_in_chromium(page: Any, portal: Portal, screenshot: Screenshots) -> None:
    got = _sign_in_to_xero(page, portal, screenshot)
    with httpx.Client(verify=ssl_context(portal.emulators.ca_file)) as http:
        tokens = http.post(
            f"{portal.emulators.xero_url}/connect/token",
            data={
                "grant_type": "authorization_code",
                "code": got["code"],
                "redirect_uri": f"{portal.url}/healthz",
                "code_verifier": got["verifier"],
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            },
        )
    assert tokens.status_code == 200, tokens.text
    assert tokens.json()["refresh_token"]


def test_dataverse_consent_page_in_chromium(
    page: Any, portal: Portal, screenshot: Screenshots
) -> None:
    dataverse_url = portal.emulators.dataverse_url
    with requests.Session() as session:
        session.trust_env = False
        session.verify = str(portal.emulators.ca_file)
        app = msal.ConfidentialClientApplication(
            CLIENT_ID,
            client_credential=CLIENT_SECRET,
            authority=f"{dataverse_url}/demo-tenant",
            instance_discovery=False,
            http_client=session,
        )
        flow = app.initiate_auth_code_flow(
            scopes=[f"{dataverse_url}/user_impersonation"], redirect_uri=f"{portal.url}/healthz"
        )
        page.goto(flow["auth_uri"])
        page.get_by_label("Email, phone, or Skype").fill(ADMIN_USERNAME)
        page.get_by_label("Password").fill(ADMIN_PASSWORD)
        check_axe(page)
        screenshot(page, "dynamics-consent")
        with page.expect_navigation(url=f"{portal.url}/healthz?*"):
            page.get_by_role("button", name="Accept").click()
        result = app.acquire_token_by_auth_code_flow(flow, _query(page.url))
    assert "access_token" in result, result
    assert result["id_token_claims"]["preferred_username"] == ADMIN_USERNAME


def test_consent_form_works_without_javascript(nojs_page: Any, portal: Portal) -> None:
    nojs_page.set_content("<title>off</title><script>document.title = 'on'</script>")
    assert nojs_page.title() == "off"  # the page's own scripts do not run
    got = _sign_in_to_xero(nojs_page, portal, None)
    assert got["code"]


def test_check_axe_fails_on_serious_violations_with_a_readable_list(page: Any) -> None:
    page.set_content(
        "<!doctype html><html lang='en'><title>bad</title><main>"
        "<img src='data:,'><button></button></main></html>"
    )
    with pytest.raises(pytest.fail.Exception) as failed:
        check_axe(page)
    message = str(failed.value)
    assert "image-alt (critical)" in message and "button-name (critical)" in message
    assert "<img" in message  # the offending element is shown


def test_what_the_csp_blocks_is_reported(browser: Any, portal: Portal) -> None:
    from tests.browser.conftest import _context, _watched

    context = _context(browser)
    page, problems = _watched(context)
    page.goto(portal.url + "/")
    with page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        page.evaluate(
            "() => { const s = document.createElement('script');"
            " s.textContent = 'window.ran = 1'; document.body.append(s); }"
        )
    assert page.evaluate("() => window.ran") is None  # the inline script did not run
    context.close()
    assert any("Content Security Policy" in p for p in problems), problems
