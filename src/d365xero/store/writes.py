"""The write-ahead log of Xero writes.

Before a create or update goes to Xero the engine records it here with its Idempotency-Key and
commits; after the answer it marks the record applied (with the Xero id) or failed. At start-up
`pending_writes` lists what may or may not have reached Xero, to be settled before new work.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from d365xero.errors import StoreError
from d365xero.store.models import WriteState, XeroWrite, utcnow

MAX_KEY_LENGTH = 128  # Xero's limit on Idempotency-Key (reference/xero.md 3.7)


def hash_request(body: Any) -> str:
    """sha256 (hex) of a request body: bytes or text as given, anything else as canonical JSON."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    elif not isinstance(body, bytes):
        body = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(body).hexdigest()


def begin_write(
    session: Session,
    connection_id: str,
    kind: str,
    source_id: str,
    idempotency_key: str,
    request_hash: str,
) -> XeroWrite:
    """A pending record for one write about to be sent (see begin_writes)."""
    [write] = begin_writes(session, connection_id, kind, idempotency_key, {source_id: request_hash})
    return write


def begin_writes(
    session: Session,
    connection_id: str,
    kind: str,
    idempotency_key: str,
    hashes: Mapping[str, str],
) -> list[XeroWrite]:
    """Pending records for a request about to be sent (flushed; the caller commits before
    sending), one per record it stands for (a batch of invoices), each with the hash of its own
    part of the request, which later tells whether the record changed since it was sent.

    Beginning the same write again (same key, record and hash) returns the existing row, whatever
    its state, so a retry after a crash is harmless; the same key for another connection or
    kind, or for the same record with another body, is a StoreError, as Xero would reject it too.
    """
    if not idempotency_key or len(idempotency_key) > MAX_KEY_LENGTH:
        raise ValueError(f"an idempotency key has 1 to {MAX_KEY_LENGTH} characters")
    if any(len(h) != 64 for h in hashes.values()):
        raise ValueError("request_hash must be a sha256 hex digest")
    query = sa.select(XeroWrite).where(XeroWrite.idempotency_key == idempotency_key)
    existing: dict[str, XeroWrite] = {}
    for row in session.scalars(query):
        same = (row.connection_id, row.kind) == (connection_id, kind)
        if not same or hashes.get(row.source_id, row.request_hash) != row.request_hash:
            raise StoreError(f"idempotency key {idempotency_key!r} is used by another write")
        existing[row.source_id] = row
    now = utcnow()
    writes = []
    for source_id, request_hash in hashes.items():
        write = existing.get(source_id)
        if write is None:
            write = XeroWrite(
                connection_id=connection_id,
                kind=kind,
                source_id=source_id,
                idempotency_key=idempotency_key,
                request_hash=request_hash,
                state=WriteState.pending.value,
                created_at=now,
                updated_at=now,
            )
            session.add(write)
        writes.append(write)
    session.flush()
    return writes


def mark_applied(session: Session, write: XeroWrite, xero_id: str, *, flush: bool = True) -> None:
    """Xero took the write; `xero_id` is the id of what it created or updated. With `flush`
    False the UPDATE waits for the session's next flush, where the rows of a batch go together
    (one executemany) instead of one round trip each."""
    write.state = WriteState.applied.value
    write.xero_id = xero_id
    write.detail = None
    if flush:
        session.flush()


def mark_failed(session: Session, write: XeroWrite, detail: str, *, flush: bool = True) -> None:
    """Xero refused the write (for sure): `detail` says why (`flush`: as for mark_applied)."""
    if write.state == WriteState.applied.value:
        # Forgetting an applied write would make the next pass write it again.
        raise StoreError(f"write {write.id} is already applied to Xero ({write.xero_id})")
    write.state = WriteState.failed.value
    write.detail = detail
    if flush:
        session.flush()


def pending_writes(session: Session, connection_id: str) -> list[XeroWrite]:
    """Writes begun but never settled, oldest first: each may or may not have reached Xero."""
    query = (
        sa.select(XeroWrite)
        .where(
            XeroWrite.connection_id == connection_id,
            XeroWrite.state == WriteState.pending.value,
        )
        .order_by(XeroWrite.id)
    )
    return list(session.scalars(query))


def _applied(connection_id: str, kind: str) -> sa.Select[tuple[XeroWrite]]:
    return (
        sa.select(XeroWrite)
        .where(
            XeroWrite.connection_id == connection_id,
            XeroWrite.kind == kind,
            XeroWrite.state == WriteState.applied.value,
        )
        .order_by(XeroWrite.id)
    )


def applied_writes(
    session: Session, connection_id: str, kind: str, source_ids: Sequence[str]
) -> dict[str, XeroWrite]:
    """The latest applied write of this kind for each of these Dynamics records that has one."""
    found: dict[str, XeroWrite] = {}
    for start in range(0, len(source_ids), 500):  # bounded IN lists
        chunk = source_ids[start : start + 500]
        query = _applied(connection_id, kind).where(XeroWrite.source_id.in_(chunk))
        for write in session.scalars(query):
            found[write.source_id] = write  # ascending ids: the latest wins
    return found


def applied_writes_of_kind(session: Session, connection_id: str, kind: str) -> dict[str, XeroWrite]:
    """The latest applied write of this kind for every record that has one."""
    return {write.source_id: write for write in session.scalars(_applied(connection_id, kind))}


def applied_write(
    session: Session, connection_id: str, kind: str, source_id: str
) -> XeroWrite | None:
    """The latest applied write of this kind for this Dynamics record, if any."""
    return applied_writes(session, connection_id, kind, [source_id]).get(source_id)


def writes_for_key(session: Session, connection_id: str, idempotency_key: str) -> list[XeroWrite]:
    """Every record one request (one Idempotency-Key) stands for."""
    query = (
        sa.select(XeroWrite)
        .where(
            XeroWrite.connection_id == connection_id,
            XeroWrite.idempotency_key == idempotency_key,
        )
        .order_by(XeroWrite.id)
    )
    return list(session.scalars(query))
