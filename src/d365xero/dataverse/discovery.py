"""Where a Dynamics organisation gets its tokens, read from the organisation itself.

Dataverse answers a Web API request without a token with 401 and a challenge naming its Entra ID
tenant: `WWW-Authenticate: Bearer authorization_uri=https://login.microsoftonline.com/<tenant>/
oauth2/authorize, resource_id=https://<org>/`. Microsoft's own client reads the authority the same
way (microsoft/PowerPlatform-DataverseServiceClient, src/GeneralTools/DataverseClient/Client/Auth/
AuthorityResolver.cs and its AuthResolverTests: keys are case-insensitive, values come unquoted,
the `oauth2/authorize` tail is dropped), so `connection add` needs only the organisation URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from d365xero.dataverse.client import API_PATH
from d365xero.errors import ConfigurationError
from d365xero.reach import transport_failure
from d365xero.urls import remote_url

PROBE_TIMEOUT = 20.0  # seconds: an answer or a clear "nothing answers" for a new user, not a hang
_PARAM = re.compile(r'([A-Za-z_]+)\s*=\s*("[^"]*"|[^,\s]+)')


@dataclass(frozen=True)
class Challenge:
    authority: str  # Entra ID's origin, e.g. https://login.microsoftonline.com
    tenant: str  # the tenant id (a GUID) the organisation belongs to
    resource: str | None


def parse_challenge(header: str) -> Challenge | None:
    """The authority and tenant of a `Bearer authorization_uri=...` challenge; None when the
    header is no such challenge."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    params = {k.lower(): v.strip('"') for k, v in _PARAM.findall(rest)}
    uri = params.get("authorization_uri")
    if not uri:
        return None
    parts = urlsplit(uri)
    segments = [s for s in parts.path.split("/") if s]
    if not parts.scheme or not parts.netloc or not segments:
        return None
    return Challenge(f"{parts.scheme}://{parts.netloc}", segments[0], params.get("resource_id"))


def discover(http: httpx.Client, org_url: str) -> Challenge:
    """Ask the organisation, without a token, which Entra ID tenant issues its tokens. The
    authority it names passes the URL policy like any URL typed in."""
    probe = f"{org_url}{API_PATH}/"
    try:
        response = http.get(probe, timeout=PROBE_TIMEOUT, headers={"Accept": "application/json"})
    except httpx.TransportError as exc:
        raise transport_failure(exc, org_url, "dataverse") from exc
    challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
    if response.status_code != 401 or challenge is None:
        raise ConfigurationError(
            f"{org_url} does not look like a Dynamics 365 organisation: GET {API_PATH}/ answered "
            f"HTTP {response.status_code} without Entra ID's Bearer challenge; give the "
            "organisation URL (e.g. https://ORG.crm.dynamics.com), or --dataverse-tenant and "
            "--dataverse-authority for one that does not name its authority"
        )
    authority = remote_url(challenge.authority, f"the Entra ID authority named by {org_url}")
    return Challenge(authority, challenge.tenant, challenge.resource)
