"""The Xero emulator's state: organisations (tenants), the identity service, the
Idempotency-Key store, rate limits and injected faults. No HTTP here.

Sources: reference/xero.md §1 (OAuth 2.0), §2 (limits), §3.7 (Idempotency-Key).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from d365xero.emulators.core.calls import CallLog
from d365xero.emulators.core.clock import Clock
from d365xero.emulators.core.faultplan import FaultPlan
from d365xero.emulators.core.state_codec import StateCodec
from d365xero.emulators.core.state_file import StateFileError
from d365xero.emulators.xero import refdata
from d365xero.emulators.xero.books import Books, Emit
from d365xero.emulators.xero.errors import Forbidden, ValidationException
from d365xero.emulators.xero.identity import (
    DEFAULT_APP_SCOPES,
    AccessToken,
    Connection,
    Identity,
    RegisteredApp,
)
from d365xero.emulators.xero.ratelimit import RateLimiter
from d365xero.emulators.xero.webhooks import Subscription, WebhookSender

IDEMPOTENCY_SECONDS = 6 * 60  # about 6 minutes (reference/xero.md §3.7)
IDEMPOTENCY_KEY_MAX = 128


@dataclass
class IdempotentEntry:
    fingerprint: str
    expires_at: float
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class XeroBackend:
    def __init__(
        self,
        client_id: str = "d365xero-demo",
        client_secret: str = "demo-secret",
        redirect_uris: tuple[str, ...] = (),
        organisation_name: str = refdata.ORGANISATION_NAME,
    ) -> None:
        """One custom connection's Xero: the app `client_id`, connected to the organisation
        `organisation_name` (its tenant id derived from the name; a second organisation the
        demo user may also choose sits beside it). A custom connection is one app for one
        organisation (developer.xero.com/documentation/guides/oauth2/custom-connections), so
        many tenants are many emulators, each made with its own name."""
        self.organisation_name = organisation_name
        self.tenant_id = refdata.fixed_id("tenant", organisation_name)
        self.clock = Clock()
        self.calls = CallLog()
        self.lock = threading.RLock()
        self.app = RegisteredApp(
            client_id, client_secret, "d365xero", DEFAULT_APP_SCOPES, redirect_uris
        )
        self.limiter = RateLimiter(self.clock)
        self.faults = FaultPlan()
        self.webhooks = WebhookSender(self.now)
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
                self.tenant_id: Books(
                    self.tenant_id, self.organisation_name, refdata.SHORT_CODE, self.now
                ),
                refdata.SECOND_TENANT_ID: Books(
                    refdata.SECOND_TENANT_ID, "Demo Company (Second)", "!xY9zQ", self.now
                ),
            }
            for books in self.orgs.values():
                books.emit = self._emitter(books.tenant_id)
            self.identity = Identity.fresh(self.clock, self.app, self.now(), self.tenant_id)
            self.idempotency: dict[tuple[str, str], IdempotentEntry] = {}
            self.limiter.reset()
            self.faults.clear()
            self.webhooks.clear()

    def _emitter(self, tenant_id: str) -> Emit:
        def emit(category: str, kind: str, resource: str, rid: str, data: Any) -> None:
            self.webhooks.emit(tenant_id, category, kind, resource, rid, data)

        return emit

    def seed(self) -> dict[str, int]:
        with self.lock:
            return self.orgs[self.tenant_id].seed()

    @property
    def demo(self) -> Books:
        return self.orgs[self.tenant_id]

    # --- state file (emulators/core/state_file.py) -----------------------------------------

    codec = StateCodec((*Identity.RECORDS, IdempotentEntry, Subscription))

    def snapshot(self) -> dict[str, Any]:
        """Everything a restarted Xero keeps: its organisations with their contacts, items,
        invoices, credit notes and payments, the identity service's connections and tokens,
        the Idempotency-Key store, the webhook settings and the clock. Not kept: call counts,
        injected faults and rate-limit windows (test hooks, and minutes long)."""
        return {
            "app": self.app.client_id,
            "clock_offset": self.clock.offset,
            "organisations": {tid: books.snapshot() for tid, books in self.orgs.items()},
            "identity": self.identity.snapshot(),
            "idempotency": self.idempotency,
            "webhooks": self.webhooks.snapshot(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        if state["app"] != self.app.client_id:
            raise StateFileError(
                f"the saved emulator's app has client id {state['app']!r}, not "
                f"{self.app.client_id!r}: start it with the same client id"
            )
        with self.lock:
            self.clock.offset = state["clock_offset"]
            self.orgs = {
                tid: Books.restore(books, self.now) for tid, books in state["organisations"].items()
            }
            for books in self.orgs.values():
                books.emit = self._emitter(books.tenant_id)
            self.identity = Identity.restore(self.clock, self.app, state["identity"])
            self.idempotency = state["idempotency"]
            self.webhooks.restore(state["webhooks"])

    # --- access ----------------------------------------------------------------------------

    def token(self, authorization: str | None) -> AccessToken:
        return self.identity.bearer(authorization)

    def connections_for(self, token: AccessToken) -> list[Connection]:
        return self.identity.connections_for(token)

    def books_for(self, token: AccessToken, tenant_id: str | None) -> Books:
        """The organisation the token may reach; a missing or foreign tenant is 403
        AuthenticationUnsuccessful (github.com/XeroAPI/xero-node/issues/432)."""
        if not tenant_id:
            raise Forbidden("AuthenticationUnsuccessful")
        for connection in self.connections_for(token):
            if connection.tenant_id == tenant_id.strip().lower():
                return self.orgs[connection.tenant_id]
        raise Forbidden("AuthenticationUnsuccessful")

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
