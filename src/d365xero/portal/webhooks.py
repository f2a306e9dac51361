"""The webhook receivers: Xero's signed event batches and Dynamics' service endpoint calls.
Each answers at once and queues a pass through PassRequests (never syncing inline: Xero wants
an answer within 5 seconds, Dataverse within 60).

Xero (developer.xero.com/documentation/guides/webhooks/overview; reference/xero.md §6):
`x-xero-signature` is base64(HMAC-SHA256(raw body, webhook key)); a bad signature is answered
401, which is also how Intent to Receive (an empty `events` list) is passed. Events carry no id
of their own: one is known by (resourceId, eventDateUtc, eventType), and a replay of a delivery
(Xero retries until it sees a 2xx) is acknowledged without another request. Order does not
matter: a pass reads the current state, whatever the events said.

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
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session, sessionmaker

from d365xero.jobs.dispatch import PassRequests
from d365xero.jobs.hooks import WEBHOOK_KEY
from d365xero.jobs.metrics import Metrics
from d365xero.store import connections
from d365xero.store.models import Connection
from d365xero.store.secrets import SecretBox

log = structlog.get_logger(__name__)

SEEN_LIMIT = 100_000  # event keys remembered for deduplication
MARK_EVERY = 10.0  # seconds between writes of a side's "last delivery" time


def xero_signature(body: bytes, key: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


class Seen:
    """Bounded memory of event keys already queued (oldest forgotten first)."""

    def __init__(self, limit: int = SEEN_LIMIT) -> None:
        self._keys: OrderedDict[tuple[str, ...], None] = OrderedDict()
        self._limit = limit
        self._lock = threading.Lock()

    def first_time(self, key: tuple[str, ...]) -> bool:
        with self._lock:
            if key in self._keys:
                return False
            self._keys[key] = None
            if len(self._keys) > self._limit:
                self._keys.popitem(last=False)
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
        self.seen = Seen()
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
        tenants = self._tenants()
        wanted: dict[str, list[str]] = {}
        for event in events:
            key = tuple(str(event.get(k, "")) for k in ("resourceId", "eventDateUtc", "eventType"))
            connection_ids = tenants.get(str(event.get("tenantId", "")), [])
            if not connection_ids:
                self._count("xero", "unknown-tenant")
                continue
            for cid in connection_ids:
                self._mark(cid, "xero")
            if not self.seen.first_time(key):
                self._count("xero", "replayed")
                continue
            self._count("xero", "queued")
            for cid in connection_ids:
                wanted.setdefault(cid, []).append(key[0])
        for cid, record_ids in wanted.items():
            self.passes.request_pass(cid, reason="xero-webhook", record_ids=record_ids)
        return 200, ""

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
