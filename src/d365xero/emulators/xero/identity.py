"""Xero's identity service, as state and rules: the registered app, users, connections (app x
organisation), and the OAuth 2.0 grants (reference/xero.md §1; developer.xero.com/faq/oauth2):

- client_credentials (custom connections): a token for the app's connected organisation;
- authorization_code with PKCE (S256) and state, through a consent page (see oauth_routes.py);
- access tokens live 30 minutes;
- refresh tokens rotate on every use; the superseded one still works for 30 minutes (a lost
  refresh response can be retried), then `invalid_grant`; unused, one expires after 60 days;
- revocation (a refresh token) ends the grant and removes the user's connections for the app.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from d365xero.emulators.core.clock import Clock
from d365xero.emulators.xero import refdata
from d365xero.emulators.xero.errors import OAuthError, Unauthorized

ACCESS_TOKEN_SECONDS = 1800
REFRESH_GRACE_SECONDS = 30 * 60
REFRESH_IDLE_SECONDS = 60 * 86_400
CODE_SECONDS = 300
OPENID_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")  # RFC 7636 §4.1

# Scopes the demo app may be granted: the pre-2026 broad ones and the granular ones of 2026
# (developer.xero.com/faq/granular-scopes).
DEFAULT_APP_SCOPES = frozenset(
    {
        "accounting.transactions",
        "accounting.transactions.read",
        "accounting.contacts",
        "accounting.contacts.read",
        "accounting.settings",
        "accounting.settings.read",
        "accounting.invoices",
        "accounting.invoices.read",
        "accounting.payments",
        "accounting.payments.read",
        "accounting.banktransactions",
        "accounting.banktransactions.read",
    }
)


@dataclass
class RegisteredApp:
    client_id: str
    client_secret: str
    name: str
    scopes: frozenset[str]
    redirect_uris: tuple[str, ...] = ()


@dataclass
class User:
    user_id: str
    email: str
    password: str
    first_name: str
    last_name: str
    tenant_ids: tuple[str, ...]


@dataclass
class Connection:
    id: str
    tenant_id: str
    client_id: str
    user_id: str | None  # None: a custom connection (client credentials)
    auth_event_id: str
    created: datetime
    updated: datetime


@dataclass
class AccessToken:
    value: str
    client_id: str
    user_id: str | None
    auth_event_id: str
    scopes: frozenset[str]
    expires_at: float
    grant_id: str | None = None


@dataclass
class AuthCode:
    code: str
    client_id: str
    user_id: str
    redirect_uri: str
    scopes: frozenset[str]
    challenge: str | None
    auth_event_id: str
    expires_at: float
    used: bool = False


@dataclass
class Grant:
    grant_id: str
    client_id: str
    user_id: str
    scopes: frozenset[str]
    auth_event_id: str
    revoked: bool = False


@dataclass
class RefreshToken:
    value: str
    grant_id: str
    issued_at: float
    superseded_at: float | None = None


@dataclass
class Identity:
    clock: Clock
    app: RegisteredApp
    users: dict[str, User] = field(default_factory=dict)
    connections: dict[str, Connection] = field(default_factory=dict)
    tokens: dict[str, AccessToken] = field(default_factory=dict)
    codes: dict[str, AuthCode] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)

    @classmethod
    def fresh(
        cls, clock: Clock, app: RegisteredApp, now: datetime, tenant_id: str = refdata.TENANT_ID
    ) -> Identity:
        """The demo user and the app's custom connection to the organisation `tenant_id`."""
        identity = cls(clock, app)
        demo = User(
            refdata.fixed_id("user", "demo"),
            "demo@d365xero.example",
            "demo",
            "Demo",
            "User",
            (tenant_id, refdata.SECOND_TENANT_ID),
        )
        identity.users[demo.email] = demo
        # The custom connection: the demo app is connected to one organisation only ("Demo
        # Company (UK)" unless the emulator was made for another).
        connection_id = refdata.fixed_id("connection", tenant_id)
        if tenant_id == refdata.TENANT_ID:
            connection_id = refdata.CONNECTION_ID
        identity.connections[connection_id] = Connection(
            connection_id,
            tenant_id,
            app.client_id,
            None,
            refdata.fixed_id("auth-event", "custom-connection"),
            now,
            now,
        )
        return identity

    # --- state file ------------------------------------------------------------------------

    RECORDS = (User, Connection, AccessToken, AuthCode, Grant, RefreshToken)

    def snapshot(self) -> dict[str, Any]:
        """Users, connections and every token, code and grant (of the records above); the app
        is not state: it comes from how the emulator is started."""
        return {
            "users": self.users,
            "connections": self.connections,
            "tokens": self.tokens,
            "codes": self.codes,
            "grants": self.grants,
            "refresh_tokens": self.refresh_tokens,
        }

    @classmethod
    def restore(cls, clock: Clock, app: RegisteredApp, state: dict[str, Any]) -> Identity:
        return cls(
            clock,
            app,
            users=state["users"],
            connections=state["connections"],
            tokens=state["tokens"],
            codes=state["codes"],
            grants=state["grants"],
            refresh_tokens=state["refresh_tokens"],
        )

    # --- clients and scopes ----------------------------------------------------------------

    def check_client(self, client_id: str | None, client_secret: str | None) -> RegisteredApp:
        if client_id != self.app.client_id or not secrets.compare_digest(
            (client_secret or "").encode(), self.app.client_secret.encode()
        ):
            raise OAuthError("invalid_client")
        return self.app

    def requested_scopes(self, scope: str | None, *, user: bool) -> frozenset[str]:
        allowed = self.app.scopes | (OPENID_SCOPES if user else frozenset())
        if not scope or not scope.strip():
            if user:
                raise OAuthError("invalid_scope")
            return self.app.scopes
        requested = frozenset(scope.split())
        if not requested <= allowed:
            raise OAuthError("invalid_scope")
        return requested

    def redirect_ok(self, redirect_uri: str) -> bool:
        if self.app.redirect_uris:
            return redirect_uri in self.app.redirect_uris
        return redirect_uri.startswith(("https://", "http://"))

    # --- tokens ----------------------------------------------------------------------------

    def _issue(
        self,
        client_id: str,
        user_id: str | None,
        auth_event_id: str,
        scopes: frozenset[str],
        grant_id: str | None = None,
    ) -> AccessToken:
        token = AccessToken(
            value=secrets.token_urlsafe(48),
            client_id=client_id,
            user_id=user_id,
            auth_event_id=auth_event_id,
            scopes=scopes,
            expires_at=self.clock.time() + ACCESS_TOKEN_SECONDS,
            grant_id=grant_id,
        )
        self.tokens[token.value] = token
        return token

    def client_credentials(
        self, client_id: str | None, client_secret: str | None, scope: str | None
    ) -> dict[str, Any]:
        app = self.check_client(client_id, client_secret)
        scopes = self.requested_scopes(scope, user=False)
        token = self._issue(
            app.client_id, None, refdata.fixed_id("auth-event", "custom-connection"), scopes
        )
        return {
            "access_token": token.value,
            "expires_in": ACCESS_TOKEN_SECONDS,
            "token_type": "Bearer",
            "scope": " ".join(sorted(scopes)),
        }

    def bearer(self, authorization: str | None) -> AccessToken:
        """The live token of an `Authorization: Bearer` header, or 401 as Xero answers."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise Unauthorized("AuthenticationUnsuccessful")
        token = self.tokens.get(authorization[7:].strip())
        if token is None:
            raise Unauthorized("AuthenticationUnsuccessful")
        if token.grant_id and self.grants[token.grant_id].revoked:
            raise Unauthorized("AuthenticationUnsuccessful")
        if token.expires_at <= self.clock.time():
            expired = datetime.fromtimestamp(token.expires_at).strftime("%m/%d/%Y %H:%M:%S")
            raise Unauthorized(f"TokenExpired: token expired at {expired}")
        return token

    # --- connections -----------------------------------------------------------------------

    def connections_for(self, token: AccessToken) -> list[Connection]:
        """A user's token sees every connection that user made for the app; a custom
        connection's token sees its own (xero-identity.yaml /Connections)."""
        return [
            c
            for c in self.connections.values()
            if c.client_id == token.client_id and c.user_id == token.user_id
        ]

    def connect(self, user: User, tenant_ids: list[str], auth_event_id: str, now: datetime) -> None:
        for tenant_id in tenant_ids:
            existing = next(
                (
                    c
                    for c in self.connections.values()
                    if c.client_id == self.app.client_id
                    and c.user_id == user.user_id
                    and c.tenant_id == tenant_id
                ),
                None,
            )
            if existing is not None:
                existing.auth_event_id, existing.updated = auth_event_id, now
                continue
            connection_id = str(uuid.uuid4())
            self.connections[connection_id] = Connection(
                connection_id, tenant_id, self.app.client_id, user.user_id, auth_event_id, now, now
            )

    def disconnect(self, token: AccessToken, connection_id: str) -> bool:
        for connection in self.connections_for(token):
            if connection.id == connection_id.lower():
                del self.connections[connection.id]
                return True
        return False

    # --- authorization code ----------------------------------------------------------------

    def login(self, email: str, password: str) -> User | None:
        user = self.users.get(email.strip().lower())
        if user is None or not secrets.compare_digest(password.encode(), user.password.encode()):
            return None
        return user

    def authorise(
        self,
        user: User,
        tenant_ids: list[str],
        redirect_uri: str,
        scopes: frozenset[str],
        challenge: str | None,
        now: datetime,
    ) -> str:
        """The user consented: connect the chosen organisations and issue a one-time code."""
        auth_event_id = str(uuid.uuid4())
        self.connect(user, tenant_ids, auth_event_id, now)
        code = AuthCode(
            secrets.token_urlsafe(32),
            self.app.client_id,
            user.user_id,
            redirect_uri,
            scopes,
            challenge,
            auth_event_id,
            self.clock.time() + CODE_SECONDS,
        )
        self.codes[code.code] = code
        return code.code

    def exchange_code(
        self,
        code: str | None,
        redirect_uri: str | None,
        client_id: str | None,
        client_secret: str | None,
        verifier: str | None,
        issuer: str,
    ) -> dict[str, Any]:
        found = self.codes.get(code or "")
        if found is None or found.used or found.expires_at <= self.clock.time():
            raise OAuthError("invalid_grant")
        if client_id != found.client_id:
            raise OAuthError("invalid_client")
        if found.challenge is not None:
            if not verifier or not _VERIFIER.match(verifier) or _s256(verifier) != found.challenge:
                raise OAuthError("invalid_grant")
            if client_secret:  # a confidential client may still send its secret
                self.check_client(client_id, client_secret)
        else:
            self.check_client(client_id, client_secret)
        if redirect_uri != found.redirect_uri:
            raise OAuthError("invalid_grant")
        found.used = True
        grant = Grant(
            str(uuid.uuid4()), found.client_id, found.user_id, found.scopes, found.auth_event_id
        )
        self.grants[grant.grant_id] = grant
        return self._token_set(grant, issuer)

    def _token_set(self, grant: Grant, issuer: str) -> dict[str, Any]:
        token = self._issue(
            grant.client_id, grant.user_id, grant.auth_event_id, grant.scopes, grant.grant_id
        )
        result: dict[str, Any] = {
            "access_token": token.value,
            "expires_in": ACCESS_TOKEN_SECONDS,
            "token_type": "Bearer",
            "scope": " ".join(sorted(grant.scopes)),
        }
        if "offline_access" in grant.scopes:
            refresh = RefreshToken(secrets.token_urlsafe(32), grant.grant_id, self.clock.time())
            self.refresh_tokens[refresh.value] = refresh
            result["refresh_token"] = refresh.value
        if "openid" in grant.scopes:
            result["id_token"] = self._id_token(grant, issuer)
        return result

    def refresh(
        self, value: str | None, client_id: str | None, client_secret: str | None, issuer: str
    ) -> dict[str, Any]:
        self.check_client(client_id, client_secret)
        refresh = self.refresh_tokens.get(value or "")
        if refresh is None:
            raise OAuthError("invalid_grant")
        grant = self.grants[refresh.grant_id]
        now = self.clock.time()
        if grant.revoked or grant.client_id != client_id:
            raise OAuthError("invalid_grant")
        if now > refresh.issued_at + REFRESH_IDLE_SECONDS:
            raise OAuthError("invalid_grant")
        if refresh.superseded_at is not None:
            if now > refresh.superseded_at + REFRESH_GRACE_SECONDS:
                raise OAuthError("invalid_grant")
        else:
            refresh.superseded_at = now
        return self._token_set(grant, issuer)

    def revoke(self, value: str | None, client_id: str | None, client_secret: str | None) -> None:
        """Revoking a refresh token ends its grant and the user's connections for the app
        (reference/xero.md §1 Revoke)."""
        self.check_client(client_id, client_secret)
        refresh = self.refresh_tokens.get(value or "")
        if refresh is None:
            return  # RFC 7009 §2.2: an unknown token is answered with 200 as well
        grant = self.grants[refresh.grant_id]
        for other in self.grants.values():
            if other.client_id == grant.client_id and other.user_id == grant.user_id:
                other.revoked = True
        self.connections = {
            k: c
            for k, c in self.connections.items()
            if not (c.client_id == grant.client_id and c.user_id == grant.user_id)
        }

    def _id_token(self, grant: Grant, issuer: str) -> str:
        """An OpenID id_token (HS256, keyed by the client secret) with Xero's user claims."""
        user = next(u for u in self.users.values() if u.user_id == grant.user_id)
        now = int(self.clock.time())
        claims = {
            "iss": issuer,
            "aud": grant.client_id,
            "sub": user.user_id,
            "xero_userid": user.user_id,
            "email": user.email,
            "given_name": user.first_name,
            "family_name": user.last_name,
            "name": f"{user.first_name} {user.last_name}",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "auth_time": now,
        }

        def part(data: dict[str, Any]) -> str:
            raw = json.dumps(data, separators=(",", ":")).encode()
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

        signing_input = f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}"
        signature = hmac.new(
            self.app.client_secret.encode(), signing_input.encode(), hashlib.sha256
        ).digest()
        return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
