"""The URL policy (https anywhere, plain http to this machine only) and the Dataverse challenge
that names an organisation's Entra ID authority."""

from __future__ import annotations

import pytest

from d365xero.dataverse.discovery import Challenge, parse_challenge
from d365xero.errors import ConfigurationError
from d365xero.urls import is_loopback, organisation_url, remote_url


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("https://api.xero.com/", "https://api.xero.com"),
        ("  HTTPS://Org.CRM11.Dynamics.com:443/ ", "https://org.crm11.dynamics.com"),
        ("https://onprem.example.com:8443/Org/", "https://onprem.example.com:8443/Org"),
        ("http://127.0.0.1:8001/", "http://127.0.0.1:8001"),
        ("http://127.8.9.10", "http://127.8.9.10"),
        ("http://localhost:80", "http://localhost"),
        ("http://[::1]:5000", "http://[::1]:5000"),
    ],
)
def test_accepted_urls_in_their_normal_form(given: str, kept: str) -> None:
    assert remote_url(given, "the URL") == kept


@pytest.mark.parametrize(
    "url",
    [
        "http://api.xero.com",
        "http://10.0.0.5:8000",
        "http://localhost.example.com",  # only the name localhost itself is this machine
        "http://128.0.0.1",
        "http://[::2]",
    ],
)
def test_plain_http_elsewhere_is_refused_with_the_reason(url: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        remote_url(url, "the Xero URL")
    message = str(refused.value)
    assert message.startswith(f"the Xero URL {url} is plain http")
    assert "client secret unencrypted" in message and "\n" not in message


@pytest.mark.parametrize(
    "url", ["api.xero.com", "ftp://org", "https://", "https://user:pw@org.example.com", ""]
)
def test_what_is_not_an_https_url_is_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="the URL must"):
        remote_url(url, "the URL")


def test_a_user_and_password_in_a_url_are_never_echoed() -> None:
    with pytest.raises(ConfigurationError) as refused:
        remote_url("https://me:hunter2@org.example.com", "the URL")
    assert "hunter2" not in str(refused.value)


def test_loopback() -> None:
    assert all(
        is_loopback(h) for h in ("localhost", "LOCALHOST", "127.0.0.1", "127.255.0.9", "::1")
    )
    assert not any(is_loopback(h) for h in ("example.com", "10.1.1.1", "0.0.0.0", "::"))


def test_a_pasted_web_api_url_is_the_organisation() -> None:
    assert organisation_url("https://ORG.api.crm.dynamics.com/api/data/v9.2/") == (
        "https://org.api.crm.dynamics.com"
    )
    assert (
        organisation_url("https://org.crm.dynamics.com/api/data") == "https://org.crm.dynamics.com"
    )
    with pytest.raises(ConfigurationError, match="the Dynamics URL http://org"):
        organisation_url("http://org.crm.dynamics.com")


# The shapes below are Dataverse's own (Microsoft's client parses them in
# microsoft/PowerPlatform-DataverseServiceClient AuthorityResolver.cs and its AuthResolverTests).
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


@pytest.mark.parametrize(
    "header",
    [
        f"Bearer authorization_uri=https://login.microsoftonline.com/{TENANT}/oauth2/authorize, "
        "resource_id=https://org.crm.dynamics.com/",
        f"BeArEr AUTHORIZATION_URI=https://login.microsoftonline.com/{TENANT}/oauth2/authorize, "
        "reSoUrCe_ID=https://org.crm.dynamics.com/",
        f'Bearer authorization_uri="https://login.microsoftonline.com/{TENANT}/oauth2/authorize",'
        ' resource_id="https://org.crm.dynamics.com/"',
    ],
)
def test_the_challenge_names_authority_and_tenant(header: str) -> None:
    assert parse_challenge(header) == Challenge(
        "https://login.microsoftonline.com", TENANT, "https://org.crm.dynamics.com/"
    )


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer",
        "Basic realm=org",
        "Bearer resource_id=https://org.crm.dynamics.com/",
        'Bearer authorization_uri="https://login.windows.net/", error="invalid_token"',
    ],
)
def test_no_authority_without_a_tenant_in_the_challenge(header: str) -> None:
    assert parse_challenge(header) is None
