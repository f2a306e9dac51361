"""Microsoft Entra ID (v2.0 endpoint) in front of the organisation: registered apps, access
tokens and their expiry, Entra's error bodies.

Access tokens are JWT-shaped (header.claims.signature, HS256 with a key only this emulator holds)
so a client that peeks at `exp` or `tid` sees what Entra would give it; a token from elsewhere
fails the signature check. Sources: learn.microsoft.com/entra/identity-platform/
v2-oauth2-client-creds-grant-flow (token response, AADSTS errors); msal 1.39 authority.py (what
it reads from the OpenID metadata).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from d365xero.emulators.core.clock import Clock

TOKEN_LIFETIME = 3599  # seconds, as Entra's client-credential tokens report `expires_in`
CODE_LIFETIME = 600  # authorization codes are short-lived (AADSTS70008 once expired)


@dataclass(frozen=True)
class User:
    """A directory user who can sign in on the consent page."""

    username: str
    password: str
    name: str
    oid: str


@dataclass
class Grant:
    """What an authorization code (and the refresh tokens after it) stands for."""

    client_id: str
    user: User
    resource: str
    scope: str
    redirect_uri: str
    challenge: str | None
    method: str
    nonce: str | None
    expires: float
    used: bool = False


@dataclass(frozen=True)
class App:
    client_id: str
    client_secret: str
    name: str = "d365xero"


class EntraError(Exception):
    """An Entra error: `{error, error_description, error_codes, ...}` with its HTTP status."""

    def __init__(self, status: int, error: str, code: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.code = code
        self.description = description

    def body(self, now: datetime) -> dict[str, Any]:
        trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
        stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
        return {
            "error": self.error,
            "error_description": (
                f"AADSTS{self.code}: {self.description} Trace ID: {trace} Correlation ID: "
                f"{correlation} Timestamp: {stamp}"
            ),
            "error_codes": [self.code],
            "timestamp": stamp,
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": f"https://login.microsoftonline.com/error?code={self.code}",
        }


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Entra:
    def __init__(self, clock: Clock, *, tenant: str, client_id: str, client_secret: str) -> None:
        self.clock = clock
        self.tenant = tenant
        self.tenant_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"entra-tenant:{tenant}"))
        self.apps = {client_id: App(client_id, client_secret)}
        self.default_client_id = client_id
        self.users: dict[str, User] = {}
        # The tenant's Dynamics organisations (URL -> unique name): every emulator that shares
        # this directory registers the URL it is reached at.
        self.organisations: dict[str, str] = {}
        self.redirect_uris: set[str] = set()  # empty: any loopback (localhost) URI
        self._codes: dict[str, Grant] = {}
        self._refresh: dict[str, Grant] = {}
        self._key = secrets.token_bytes(32)

    def reset(self) -> None:
        """Tokens issued before a reset stop working, as after a key rollover."""
        self._key = secrets.token_bytes(32)
        self._codes.clear()
        self._refresh.clear()

    def snapshot(self) -> dict[str, Any]:
        """The directory's users, codes, refresh tokens and signing key (so tokens issued
        before a restart still work); its apps come from how the emulator is started."""
        return {
            "users": self.users,
            "organisations": self.organisations,
            "redirect_uris": self.redirect_uris,
            "codes": self._codes,
            "refresh": self._refresh,
            "key": self._key,
        }

    def restore(self, state: dict[str, Any]) -> None:
        self.users = state["users"]
        self.organisations = state["organisations"]
        self.redirect_uris = state["redirect_uris"]
        self._codes = state["codes"]
        self._refresh = state["refresh"]
        self._key = state["key"]

    def register_organisation(self, url: str, name: str) -> None:
        self.organisations.setdefault(url.rstrip("/"), name)

    def resource_known(self, resource: str, org_url: str) -> bool:
        """Any organisation of the tenant is a valid resource, wherever the token is asked."""
        known = {u.lower() for u in self.organisations} | {org_url.rstrip("/").lower()}
        return resource.rstrip("/").lower() in known

    def add_user(self, username: str, password: str, name: str, oid: str) -> User:
        user = User(username, password, name, oid)
        self.users[username.lower()] = user
        return user

    @property
    def application_user_id(self) -> str:
        """The Dataverse application user bound to the registered app."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"appuser:{self.default_client_id}"))

    def knows_tenant(self, tenant: str) -> bool:
        return tenant.lower() in (self.tenant.lower(), self.tenant_id)

    def openid_configuration(self, origin: str) -> dict[str, Any]:
        base = f"{origin}/{self.tenant_id}"
        return {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{origin}/{self.tenant_id}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{origin}/oidc/userinfo",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid"],
            "kerberos_endpoint": f"{base}/kerberos",
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        }

    # --- client credentials ----------------------------------------------------------------

    def client_credentials(
        self,
        tenant: str,
        client_id: str | None,
        secret: str | None,
        scope: str | None,
        org_url: str,
    ) -> dict[str, Any]:
        if not self.knows_tenant(tenant):
            raise EntraError(
                400,
                "invalid_request",
                90002,
                f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
                "and are signing into the correct cloud.",
            )
        if not client_id:
            raise EntraError(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'client_id'.",
            )
        app = self.apps.get(client_id)
        if app is None:
            raise EntraError(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{self.tenant}'. This can happen if the application has not been installed by "
                "the administrator of the tenant or consented to by any user in the tenant.",
            )
        if not secret or not hmac.compare_digest(secret, app.client_secret):
            raise EntraError(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                f"the client secret value, not the client secret ID, for a secret added to app "
                f"'{client_id}'.",
            )
        resource = self._resource(scope, org_url)
        return self.issue(app, resource)

    def _resource(self, scope: str | None, org_url: str) -> str:
        if not scope:
            raise EntraError(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'scope'.",
            )
        if not scope.endswith("/.default") or " " in scope.strip():
            raise EntraError(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows "
                "must have a scope value with /.default suffixed to the resource identifier "
                "(application ID URI).",
            )
        resource = scope[: -len("/.default")].rstrip("/")
        if not self.resource_known(resource, org_url):
            raise EntraError(
                400,
                "invalid_resource",
                500011,
                f"The resource principal named {resource} was not found in the tenant named "
                f"{self.tenant}. This can happen if the application has not been installed by the "
                "administrator of the tenant or consented to by any user in the tenant. You might "
                "have sent your authentication request to the wrong tenant.",
            )
        return resource

    def issue(self, app: App, resource: str, oid: str | None = None) -> dict[str, Any]:
        now = int(self.clock.time())
        claims = {
            "aud": resource,
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME,
            "appid": app.client_id,
            "oid": oid or self.application_user_id,
            "tid": self.tenant_id,
            "ver": "1.0",
        }
        return {
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME,
            "ext_expires_in": TOKEN_LIFETIME,
            "access_token": self._sign(claims),
        }

    def _sign(self, claims: dict[str, Any]) -> str:
        header = _b64(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        mac = hmac.new(self._key, f"{header}.{body}".encode(), hashlib.sha256).digest()
        return f"{header}.{body}.{_b64(mac)}"

    def validate(self, token: str, org_url: str) -> dict[str, Any] | None:
        """The token's claims if it is ours, unexpired and for this organisation; else None."""
        try:
            header, body, signature = token.split(".")
            mac = hmac.new(self._key, f"{header}.{body}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(_b64(mac), signature):
                return None
            claims: dict[str, Any] = json.loads(_unb64(body))
        except (ValueError, json.JSONDecodeError):
            return None
        if claims.get("exp", 0) <= self.clock.time():
            return None
        if str(claims.get("aud", "")).rstrip("/").lower() != org_url.rstrip("/").lower():
            return None
        return claims

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.time(), UTC)


# --- authorization code with PKCE ---------------------------------------------------------------


def _error(status: int, error: str, code: int, text: str) -> EntraError:
    return EntraError(status, error, code, text)


def check_authorize(entra: Entra, tenant: str, params: dict[str, str], org_url: str) -> App:
    """The checks Entra makes before it shows the sign-in page (errors shown on the page)."""
    if not entra.knows_tenant(tenant):
        raise _error(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
    app = entra.apps.get(params.get("client_id", ""))
    if app is None:
        raise _error(
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{params.get('client_id')}' was not found in the "
            f"directory '{entra.tenant}'.",
        )
    redirect = params.get("redirect_uri", "")
    if not _redirect_allowed(entra, redirect):
        raise _error(
            400,
            "invalid_request",
            50011,
            f"The redirect URI '{redirect}' specified in the request does not match the redirect "
            f"URIs configured for the application '{app.client_id}'.",
        )
    if params.get("response_type") != "code":
        raise _error(
            400, "unsupported_response_type", 700054, "response_type 'code' is required here."
        )
    if params.get("code_challenge_method", "S256") not in ("S256", "plain"):
        raise _error(400, "invalid_request", 50002, "Invalid code_challenge_method.")
    resource_of(entra, params.get("scope", ""), org_url)
    return app


def _redirect_allowed(entra: Entra, uri: str) -> bool:
    if entra.redirect_uris:
        return uri in entra.redirect_uris
    from urllib.parse import urlsplit

    parts = urlsplit(uri)
    return parts.scheme in ("http", "https") and parts.hostname in ("localhost", "127.0.0.1")


def resource_of(entra: Entra, scope: str, org_url: str) -> str:
    """The organisation a delegated scope names (`<org>/user_impersonation` or `<org>/.default`),
    which must be one of the tenant's."""
    for item in scope.split():
        resource = item.rpartition("/")[0]
        if "://" in resource and entra.resource_known(resource, org_url):
            return resource.rstrip("/")
    raise _error(
        400,
        "invalid_scope",
        70011,
        f"The provided value for the input parameter 'scope' is not valid. The scope {scope} "
        "does not name this organisation.",
    )


def issue_code(
    entra: Entra, params: dict[str, str], user: User, org_url: str, organisation: str
) -> str:
    """A code for `organisation`, the one the user picked on the consent page (by default the
    one the scope names): its delegated scope is re-aimed at that organisation."""
    code = secrets.token_urlsafe(32)
    asked = resource_of(entra, params.get("scope", ""), org_url)
    scope = " ".join(
        organisation + item[len(asked) :] if item.startswith(asked) else item
        for item in params.get("scope", "").split()
    )
    entra._codes[code] = Grant(
        client_id=params["client_id"],
        user=user,
        resource=organisation,
        scope=scope,
        redirect_uri=params["redirect_uri"],
        challenge=params.get("code_challenge"),
        method=params.get("code_challenge_method", "plain"),
        nonce=params.get("nonce"),
        expires=entra.clock.time() + CODE_LIFETIME,
    )
    return code


def _verifier_matches(grant: Grant, verifier: str | None) -> bool:
    if grant.challenge is None:
        return True
    if not verifier:
        return False
    if grant.method == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        return hmac.compare_digest(_b64(digest), grant.challenge)
    return hmac.compare_digest(verifier, grant.challenge)


def redeem(
    entra: Entra,
    tenant: str,
    client_id: str | None,
    secret: str | None,
    form: dict[str, str],
    origin: str,
) -> dict[str, Any]:
    """The token endpoint's authorization_code and refresh_token grants."""
    if not entra.knows_tenant(tenant):
        raise _error(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
    app = entra.apps.get(client_id or "")
    if app is None:
        raise _error(400, "unauthorized_client", 700016, f"Application '{client_id}' not found.")
    if not secret or not hmac.compare_digest(secret, app.client_secret):
        raise _error(401, "invalid_client", 7000215, "Invalid client secret provided.")
    if form.get("grant_type") == "refresh_token":
        grant = entra._refresh.get(form.get("refresh_token", ""))
        if grant is None or grant.client_id != app.client_id:
            raise _error(
                400,
                "invalid_grant",
                9002313,
                "Invalid request. The refresh token is malformed or not valid.",
            )
        return _tokens(entra, app, grant, origin)
    grant = entra._codes.get(form.get("code", ""))
    if grant is None or grant.client_id != app.client_id:
        raise _error(
            400,
            "invalid_grant",
            9002313,
            "Invalid request. The authorization code is malformed or not valid.",
        )
    if grant.used:
        raise _error(
            400,
            "invalid_grant",
            54005,
            "OAuth2 Authorization code was already redeemed, please retry with a new valid code "
            "or use an existing refresh token.",
        )
    if grant.expires <= entra.clock.time():
        raise _error(
            400,
            "invalid_grant",
            70008,
            "The provided authorization code or refresh token has expired due to inactivity. "
            "Send a new interactive authorization request for this user and resource.",
        )
    if form.get("redirect_uri") != grant.redirect_uri:
        raise _error(
            400,
            "invalid_grant",
            50148,
            "The redirect_uri does not match the one used in the authorization request.",
        )
    if not _verifier_matches(grant, form.get("code_verifier")):
        raise _error(
            400,
            "invalid_grant",
            501481,
            "The Code_Verifier does not match the code_challenge supplied in the authorization "
            "request.",
        )
    grant.used = True
    return _tokens(entra, app, grant, origin)


def _tokens(entra: Entra, app: App, grant: Grant, origin: str) -> dict[str, Any]:
    body = entra.issue(app, grant.resource, oid=grant.user.oid)
    refresh = secrets.token_urlsafe(48)
    entra._refresh[refresh] = grant
    now = int(entra.clock.time())
    id_claims = {
        "aud": app.client_id,
        "iss": f"{origin}/{entra.tenant_id}/v2.0",
        "iat": now,
        "nbf": now,
        "exp": now + TOKEN_LIFETIME,
        "name": grant.user.name,
        "oid": grant.user.oid,
        "preferred_username": grant.user.username,
        "sub": grant.user.oid,
        "tid": entra.tenant_id,
        "ver": "2.0",
    }
    if grant.nonce:
        id_claims["nonce"] = grant.nonce
    body.update(
        {
            "scope": " ".join(s for s in grant.scope.split() if s.startswith(grant.resource)),
            "refresh_token": refresh,
            "id_token": entra._sign(id_claims),
        }
    )
    return body
