"""Several organisations (environments) in one Entra tenant: each emulator app is one
organisation on its own port, sharing the directory. A token is for one organisation only (its
`aud`); any organisation of the tenant is a valid resource; the consent page offers them all."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from d365xero.emulators.core.server import ServerThread
from d365xero.emulators.dataverse.app import create_app
from d365xero.emulators.dataverse.models import Organisation
from d365xero.emulators.dataverse.sample import ADMIN_PASSWORD, ADMIN_USERNAME

REDIRECT = "http://localhost:8400/callback"


@dataclass
class Org:
    url: str
    emulator: Organisation


@pytest.fixture
def orgs() -> Iterator[tuple[Org, Org]]:
    first = create_app(organisation_name="contoso-sales")
    second = create_app(organisation_name="contoso-test", directory=first.state.emulator.entra)
    with ServerThread(first) as a, ServerThread(second) as b:
        yield Org(a.url, first.state.emulator), Org(b.url, second.state.emulator)


def _client_token(token_endpoint_org: str, resource: str) -> httpx.Response:
    return httpx.post(
        f"{token_endpoint_org}/demo-tenant/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "d365xero-demo",
            "client_secret": "demo-secret",
            "scope": f"{resource}/.default",
        },
    )


def _who(org: Org, token: str) -> httpx.Response:
    return httpx.get(
        f"{org.url}/api/data/v9.2/WhoAmI", headers={"Authorization": f"Bearer {token}"}
    )


def test_a_token_is_for_one_organisation_of_the_tenant(orgs: tuple[Org, Org]) -> None:
    first, second = orgs
    _who(first, "x")  # each organisation makes itself known to the tenant when first reached
    _who(second, "x")
    token = _client_token(first.url, second.url)  # any organisation is a resource of the tenant
    assert token.status_code == 200, token.text
    access = token.json()["access_token"]
    assert _who(second, access).status_code == 200
    assert _who(first, access).status_code == 401  # not its audience
    ids = {_who(second, access).json()["OrganizationId"], first.emulator.organization_id}
    assert len(ids) == 2
    unknown = _client_token(first.url, "https://elsewhere.crm.dynamics.com")
    assert unknown.json()["error"] == "invalid_resource"


def test_the_consent_page_offers_every_organisation(orgs: tuple[Org, Org]) -> None:
    first, second = orgs
    _who(second, "x")
    query = {
        "client_id": "d365xero-demo",
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": f"{first.url}/user_impersonation offline_access",
        "state": "s",
    }
    authorize = f"{first.url}/demo-tenant/oauth2/v2.0/authorize"
    page = httpx.get(authorize, params=query)
    options = re.findall(r'<option value="([^"]+)"( selected)?>([^<]+)</option>', page.text)
    assert {(url, name.split(" (")[0]) for url, _, name in options} == {
        (first.url, "contoso-sales"),
        (second.url, "contoso-test"),
    }
    assert [url for url, selected, _ in options if selected] == [first.url]
    form = query | {
        "username": ADMIN_USERNAME,
        "password": ADMIN_PASSWORD,
        "organisation": second.url,
        "consent": "accept",
    }
    answer = httpx.post(authorize, data=form)
    code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
    tokens = httpx.post(
        f"{first.url}/demo-tenant/oauth2/v2.0/token",
        data={
            "grant_type": "authorization_code",
            "client_id": "d365xero-demo",
            "client_secret": "demo-secret",
            "code": code,
            "redirect_uri": REDIRECT,
        },
    ).json()
    assert tokens["scope"] == f"{second.url}/user_impersonation"
    assert _who(second, tokens["access_token"]).status_code == 200
    assert _who(first, tokens["access_token"]).status_code == 401
