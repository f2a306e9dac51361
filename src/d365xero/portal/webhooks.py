"""The webhook receivers: Xero's signed event batches and Dynamics' service endpoint calls.
Each answers at once and queues a pass through PassRequests (never syncing inline: Xero wants
an answer within 5 seconds, Dataverse within 60).

Xero (developer.xero.com/documentation/guides/webhooks/overview; reference/xero.md §6):
`x-xero-signature` is base64(HMAC-SHA256(raw body, webhook key)); a bad signature is answered
401, which is also how Intent to Receive (an empty `events` list) is passed. Events carry no id
of their own: one is known by (tenantId, resourceId, eventDateUtc, eventType), and a replay of
a delivery (Xero retries until it sees a 2xx, for up to 24 hours) is acknowledged without
another request, whichever `serve` process it reaches: the keys already queued are in the store
(store.webhook_events), kept for SEEN_FOR. Order does not matter: a pass reads the current
state, whatever the events said.

Dataverse (learn.microsoft.com, "Use webhooks to create external handlers for server events"):
a serviceendpoint with authtype WebhookKey sends its key as the `code` query parameter; the
RemoteExecutionContext body names the record (PrimaryEntityId)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session, sessionmaker

from d365xero.jobs.dispatch import PassRequests
from d365xero.jobs.hooks import WEBHOOK_KEY
from d365xero.jobs.metrics import Metrics
from d365xero.store import connections, webhook_events
from d365xero.store.models import Connection
from d365xero.store.secrets import SecretBox

log = structlog.get_logger(__name__)

# Xero retries a delivery "with decreasing frequency for up to 24 hours" (developer.xero.com/
# documentation/webhooks/configuring-your-server): a key older than that cannot come again.
SEEN_FOR = timedelta(hours=25)
PRUNE_EVERY = 300.0  # seconds between deletions of expired keys, per process
MARK_EVERY = 10.0  # seconds between writes of a side's "last delivery" time


def xero_signature(body: bytes, key: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


class Seen:
    """Event keys already queued, in the store: shared by every process on it, bounded by
    SEEN_FOR (expired keys deleted every PRUNE_EVERY seconds by whichever process records)."""

    def __init__(self, sessions: sessionmaker[Session], keep: timedelta = SEEN_FOR) -> None:
        self.sessions, self.keep = sessions, keep
        self._pruned = -1e18
        self._lock = threading.Lock()

    def first_time(self, keys: Sequence[str]) -> set[str]:
        """Of `keys`, those never seen before (now recorded)."""
        now = datetime.now(UTC)
        with self.sessions.begin() as session:
            fresh = webhook_events.first_seen(session, keys, now)
            if self._prune_due():
                webhook_events.prune(session, now - self.keep)
        return fresh

    def forget(self, keys: Sequence[str]) -> None:
        with self.sessions.begin() as session:
            webhook_events.forget(session, keys)

    def _prune_due(self) -> bool:
        with self._lock:
            if time.monotonic() - self._pruned < PRUNE_EVERY:
                return False
            self._pruned = time.monotonic()
            return True


class Receivers:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        box: SecretBox,
        passes: PassRequests | None,
        metrics: Metrics,
        xero_key: str | None,
    ) -> None:
        self.sessions, self.box, self.passes = sessions, box, passes
        self.metrics, self.xero_key = metrics, xero_key
        self.seen = Seen(sessions)
        self._marked: dict[tuple[str, str], float] = {}
        # Each connection's Dynamics key, kept after a good delivery (a burst would otherwise
        # read and decrypt it once a delivery); a key that does not match is read afresh.
        self._keys: dict[str, str] = {}

    def _count(self, source: str, outcome: str) -> None:
        self.metrics.webhooks.labels(source, outcome).inc()

    # --- Xero -----------------------------------------------------------------------------

    def xero(self, body: bytes, signature: str | None) -> tuple[int, str]:
        if not self.xero_key:
            self._count("xero", "unconfigured")
            log.error("Xero webhook refused: D365XERO_XERO_WEBHOOK_KEY is not set")
            return 401, ""
        expected = xero_signature(body, self.xero_key)
        if not signature or not hmac.compare_digest(expected, signature):
            self._count("xero", "bad-signature")
            return 401, ""
        try:
            events = list(json.loads(body).get("events") or [])
        except (ValueError, AttributeError):
            self._count("xero", "malformed")
            return 400, "the body is not a Xero webhook payload"
        if not events:
            self._count("xero", "intent-to-receive")
            return 200, ""
        if self.passes is None:
            self._count("xero", "no-queue")
            return 503, "no pass queue in this process"
        known = self._known_events(events)
        fresh = self.seen.first_time([key for key, _, _ in known])
        queued, wanted = [], {}
        for key, connection_ids, resource in known:
            if key not in fresh:
                self._count("xero", "replayed")
                continue
            fresh.discard(key)  # the same event twice in one delivery: queued once
            queued.append(key)
            self._count("xero", "queued")
            for cid in connection_ids:
                wanted.setdefault(cid, []).append(resource)
        try:
            for cid, record_ids in wanted.items():
                self.passes.request_pass(cid, reason="xero-webhook", record_ids=record_ids)
        except BaseException:
            self.seen.forget(queued)  # not queued after all: Xero's retry must be queued
            raise
        return 200, ""

    def _known_events(self, events: list[Any]) -> list[tuple[str, list[str], str]]:
        """(key, connections, resource id) of each event for a tenant connected here."""
        tenants = self._tenants()
        known = []
        for event in events:
            fields = ("tenantId", "resourceId", "eventDateUtc", "eventType")
            parts = [str(event.get(name, "")) for name in fields]
            connection_ids = tenants.get(parts[0], [])
            if not connection_ids:
                self._count("xero", "unknown-tenant")
                continue
            for cid in connection_ids:
                self._mark(cid, "xero")
            known.append((webhook_events.event_key(parts), connection_ids, parts[1]))
        return known

    def _tenants(self) -> dict[str, list[str]]:
        with self.sessions() as session:
            rows = session.execute(
                sa.select(Connection.xero_tenant_id, Connection.id).where(
                    Connection.xero_tenant_id.is_not(None)
                )
            ).all()
        found: dict[str, list[str]] = {}
        for tenant, cid in rows:
            found.setdefault(str(tenant), []).append(cid)
        return found

    # --- Dataverse ------------------------------------------------------------------------

    def dataverse(self, connection_id: str, key: str | None, body: bytes) -> tuple[int, str]:
        stored = self._keys.get(connection_id)
        if stored is None or not key or not hmac.compare_digest(stored, key):
            stored = self._read_key(connection_id)  # a new or changed key: read it again
        if not stored or not key or not hmac.compare_digest(stored, key):
            self._count("dataverse", "bad-key")
            return 401, ""
        if self.passes is None:
            self._count("dataverse", "no-queue")
            return 503, "no pass queue in this process"
        context: dict[str, Any] = {}
        with contextlib.suppress(ValueError, TypeError):  # a pass finds what changed anyway
            context = dict(json.loads(body or b"{}"))
        record = str(context.get("PrimaryEntityId") or "")
        self._mark(connection_id, "dataverse")
        self._count("dataverse", "queued")
        self.passes.request_pass(
            connection_id, reason="dataverse-webhook", record_ids=[record] if record else []
        )
        return 200, ""

    def _read_key(self, connection_id: str) -> str | None:
        with self.sessions() as session:
            connection = connections.get_connection(session, connection_id)
            if connection is None:
                self._keys.pop(connection_id, None)
                return None
            value = connections.read_secrets(self.box, connection).get(WEBHOOK_KEY)
        if value:
            self._keys[connection_id] = str(value)
        return str(value) if value else None

    def _mark(self, connection_id: str, side: str) -> None:
        """Notes that the side's webhooks work (at most every MARK_EVERY seconds), without
        touching updated_at: that would make the next pass rebuild the connection's clients."""
        now = time.monotonic()
        if now - self._marked.get((connection_id, side), -1e18) < MARK_EVERY:
            return
        self._marked[(connection_id, side)] = now
        column = Connection.xero_webhook_at if side == "xero" else Connection.dataverse_webhook_at
        with self.sessions.begin() as session:
            session.execute(
                sa.update(Connection)
                .where(Connection.id == connection_id)
                .values({column: datetime.now(UTC), Connection.updated_at: Connection.updated_at})
            )
