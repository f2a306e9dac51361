"""StoreLedger: the engine's WriteLedger over the store's xero_writes table.

Each call is its own committed transaction: the intent must be durable before the request
leaves, whatever happens to the rest of the pass.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from d365xero.store import connections, writes
from d365xero.store.models import XeroWrite
from d365xero.sync.ports import AppliedWrite, PendingWrite


class StoreLedger:
    def __init__(self, sessions: sessionmaker[Session], connection_id: str) -> None:
        self._sessions = sessions
        self._connection_id = connection_id

    def begin(self, kind: str, parts: Mapping[str, bytes]) -> str:
        key = f"d365xero-{kind}-{uuid.uuid4().hex}"
        hashes = {source_id: writes.hash_request(part) for source_id, part in parts.items()}
        with self._sessions.begin() as session:
            writes.begin_writes(session, self._connection_id, kind, key, hashes)
        return key

    def applied(self, key: str, xero_ids: dict[str, str | None]) -> None:
        # The batch's rows are flushed together at the commit: one round trip for 50, not 50
        # (8% of a busy pass's time on a loaded machine, docs/BENCHMARKS.md "Many connections").
        with self._sessions.begin() as session:
            for write in self._by_key(session, key):
                xero_id = xero_ids.get(write.source_id)
                if xero_id:
                    writes.mark_applied(session, write, xero_id, flush=False)
                elif write.source_id in xero_ids:
                    writes.mark_failed(session, write, "Xero did not create it", flush=False)

    def failed(self, key: str, source_ids: Sequence[str], detail: str) -> None:
        wanted = set(source_ids)
        with self._sessions.begin() as session:
            for write in self._by_key(session, key):
                if write.source_id in wanted:
                    writes.mark_failed(session, write, detail[:2000], flush=False)

    def last_applied(self, kind: str, source_ids: Sequence[str]) -> dict[str, AppliedWrite]:
        with self._sessions() as session:
            found = writes.applied_writes(session, self._connection_id, kind, list(source_ids))
            return {
                source_id: AppliedWrite(write.xero_id, write.request_hash)
                for source_id, write in found.items()
                if write.xero_id
            }

    def applied_sources(self, kind: str) -> dict[str, str]:
        with self._sessions() as session:
            found = writes.applied_writes_of_kind(session, self._connection_id, kind)
            return {source_id: write.xero_id for source_id, write in found.items() if write.xero_id}

    def pending(self, kind: str) -> list[PendingWrite]:
        with self._sessions() as session:
            groups: dict[str, list[XeroWrite]] = defaultdict(list)
            for write in writes.pending_writes(session, self._connection_id):
                if write.kind == kind:
                    groups[write.idempotency_key].append(write)
            return [
                PendingWrite(
                    key=key,
                    kind=kind,
                    source_ids=tuple(w.source_id for w in rows),
                    created_epoch=rows[0].created_at.timestamp(),
                )
                for key, rows in groups.items()
            ]

    def _by_key(self, session: Session, key: str) -> list[XeroWrite]:
        return writes.writes_for_key(session, self._connection_id, key)

    def edits_checked_until(self) -> datetime | None:
        with self._sessions() as session:
            connection = connections.get_connection(session, self._connection_id)
            return connection.edits_checked_until if connection else None

    def mark_edits_checked(self, until: datetime) -> None:
        with self._sessions.begin() as session:
            connection = connections.get_connection(session, self._connection_id)
            if connection is not None:
                connection.edits_checked_until = until
