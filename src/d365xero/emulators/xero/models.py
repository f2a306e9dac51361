"""The Xero emulator's state and identity rules: registered apps, organisations (tenants),
connections, access tokens, and the Idempotency-Key store. No HTTP here.

Sources: reference/xero.md §1 (OAuth 2.0), §3.7 (Idempotency-Key).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from d365xero.emulators.core.calls import CallLog
from d365xero.emulators.core.clock import Clock
from d365xero.emulators.xero import refdata
from d365xero.emulators.xero.books import Books
from d365xero.emulators.xero.errors import Forbidden, OAuthError, Unauthorized, ValidationException
from d365xero.emulators.xero.faultplan import FaultPlan
from d365xero.emulators.xero.ratelimit import RateLimiter

ACCESS_TOKEN_SECONDS = 1800  # 30 minutes (developer.xero.com/faq/oauth2)
IDEMPOTENCY_SECONDS = 6 * 60  # about 6 minutes (reference/xero.md §3.7)
IDEMPOTENCY_KEY_MAX = 128

# Scopes a custom connection of the demo app is granted: the pre-2026 broad ones and the
# granular ones of 2026 (developer.xero.com/faq/granular-scopes).
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
    }
)


@dataclass
class RegisteredApp:
    client_id: str
    client_secret: str
    name: str
    scopes: frozenset[str]


@dataclass
class Connection:
    id: str
    tenant_id: str
    client_id: str
    auth_event_id: str
    created: datetime
    updated: datetime


@dataclass
class AccessToken:
    value: str
    client_id: str
    auth_event_id: str
    scopes: frozenset[str]
    expires_at: float


@dataclass
class IdempotentEntry:
    fingerprint: str
    expires_at: float
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class XeroBackend:
    def __init__(
        self, client_id: str = "d365xero-demo", client_secret: str = "demo-secret"
    ) -> None:
        self.clock = Clock()
        self.calls = CallLog()
        self.lock = threading.RLock()
        self.app = RegisteredApp(client_id, client_secret, "d365xero", DEFAULT_APP_SCOPES)
        self.limiter = RateLimiter(self.clock)
        self.faults = FaultPlan()
        self.reset()

    @property
    def rate_limits_enabled(self) -> bool:
        return self.limiter.enforce

    @rate_limits_enabled.setter
    def rate_limits_enabled(self, value: bool) -> None:
        self.limiter.enforce = value

    # --- control plane ---------------------------------------------------------------------

    def now(self) -> datetime:
        moment = self.clock.now()
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)

    def reset(self) -> None:
        with self.lock:
            self.orgs: dict[str, Books] = {
                refdata.TENANT_ID: Books(
                    refdata.TENANT_ID, refdata.ORGANISATION_NAME, refdata.SHORT_CODE, self.now
                ),
                refdata.SECOND_TENANT_ID: Books(
                    refdata.SECOND_TENANT_ID, "Demo Company (Second)", "!xY9zQ", self.now
                ),
            }
            now = self.now()
            # The custom connection: the demo app is connected to "Demo Company (UK)" only.
            self.connections: dict[str, Connection] = {
                refdata.CONNECTION_ID: Connection(
                    refdata.CONNECTION_ID,
                    refdata.TENANT_ID,
                    self.app.client_id,
                    refdata.fixed_id("auth-event", "custom-connection"),
                    now,
                    now,
                )
            }
            self.tokens: dict[str, AccessToken] = {}
            self.idempotency: dict[tuple[str, str], IdempotentEntry] = {}
            self.limiter.reset()
            self.faults.clear()

    def seed(self) -> dict[str, int]:
        with self.lock:
            return self.orgs[refdata.TENANT_ID].seed()

    @property
    def demo(self) -> Books:
        return self.orgs[refdata.TENANT_ID]

    # --- identity --------------------------------------------------------------------------

    def check_client(self, client_id: str | None, client_secret: str | None) -> RegisteredApp:
        if client_id != self.app.client_id or not secrets.compare_digest(
            (client_secret or "").encode(), self.app.client_secret.encode()
        ):
            raise OAuthError("invalid_client")
        return self.app

    def client_credentials(
        self, client_id: str | None, client_secret: str | None, scope: str | None
    ) -> dict[str, Any]:
        """The custom-connection grant: a token for the app's one connected organisation."""
        with self.lock:
            app = self.check_client(client_id, client_secret)
            scopes = app.scopes
            if scope and scope.strip():
                requested = frozenset(scope.split())
                if not requested <= app.scopes:
                    raise OAuthError("invalid_scope")
                scopes = requested
            token = self._issue(app.client_id, self._custom_auth_event(), scopes)
            return {
                "access_token": token.value,
                "expires_in": ACCESS_TOKEN_SECONDS,
                "token_type": "Bearer",
                "scope": " ".join(sorted(scopes)),
            }

    def _custom_auth_event(self) -> str:
        return refdata.fixed_id("auth-event", "custom-connection")

    def _issue(self, client_id: str, auth_event_id: str, scopes: frozenset[str]) -> AccessToken:
        token = AccessToken(
            value=secrets.token_urlsafe(48),
            client_id=client_id,
            auth_event_id=auth_event_id,
            scopes=scopes,
            expires_at=self.clock.time() + ACCESS_TOKEN_SECONDS,
        )
        self.tokens[token.value] = token
        return token

    def token(self, authorization: str | None) -> AccessToken:
        """The live token of an `Authorization: Bearer` header, or 401 as Xero answers."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise Unauthorized("AuthenticationUnsuccessful")
        token = self.tokens.get(authorization[7:].strip())
        if token is None:
            raise Unauthorized("AuthenticationUnsuccessful")
        if token.expires_at <= self.clock.time():
            expired = datetime.fromtimestamp(token.expires_at).strftime("%m/%d/%Y %H:%M:%S")
            raise Unauthorized(f"TokenExpired: token expired at {expired}")
        return token

    def connections_for(self, token: AccessToken) -> list[Connection]:
        return [
            c
            for c in self.connections.values()
            if c.client_id == token.client_id and c.auth_event_id == token.auth_event_id
        ]

    def books_for(self, token: AccessToken, tenant_id: str | None) -> Books:
        """The organisation the token may reach; a missing or foreign tenant is 403
        AuthenticationUnsuccessful (github.com/XeroAPI/xero-node/issues/432)."""
        if not tenant_id:
            raise Forbidden("AuthenticationUnsuccessful")
        for connection in self.connections_for(token):
            if connection.tenant_id == tenant_id.strip().lower():
                return self.orgs[connection.tenant_id]
        raise Forbidden("AuthenticationUnsuccessful")

    def disconnect(self, token: AccessToken, connection_id: str) -> bool:
        with self.lock:
            for connection in self.connections_for(token):
                if connection.id == connection_id.lower():
                    del self.connections[connection.id]
                    return True
            return False

    # --- Idempotency-Key -------------------------------------------------------------------

    def idempotent_replay(
        self, tenant_id: str, key: str, fingerprint: str
    ) -> IdempotentEntry | None:
        """The stored response for `key` inside its window, or None for a first use.

        The same key with a different request is rejected, as Xero does ("Idempotency Key: K
        is used with a different request.", quoted by integrators; reference/xero.md §3.7)."""
        now = self.clock.time()
        self.idempotency = {k: e for k, e in self.idempotency.items() if e.expires_at > now}
        entry = self.idempotency.get((tenant_id, key))
        if entry is None:
            return None
        if entry.fingerprint != fingerprint:
            raise ValidationException(
                [], message=f"Idempotency Key: {key} is used with a different request."
            )
        return entry

    def idempotent_store(
        self,
        tenant_id: str,
        key: str,
        fingerprint: str,
        status: int,
        body: bytes,
        headers: dict[str, str],
    ) -> None:
        self.idempotency[(tenant_id, key)] = IdempotentEntry(
            fingerprint, self.clock.time() + IDEMPOTENCY_SECONDS, status, body, headers
        )


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query.encode(), body):
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()


def new_id() -> str:
    return str(uuid.uuid4())
