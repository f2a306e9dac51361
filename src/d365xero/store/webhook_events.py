"""Webhook events already queued, shared by every `serve` process through the store (table
webhook_events): a redelivery that reaches another process, or this one after a restart, is
acknowledged without a second pass. An event is known by a digest of what identifies it (Xero's
events carry no id of their own). Bounded: keys older than the sender's redelivery horizon are
deleted (prune)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from d365xero.store.models import WebhookEvent

table = WebhookEvent.__table__


def event_key(parts: Sequence[str]) -> str:
    """A fixed-length key for an event's identifying fields."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def first_seen(session: Session, keys: Iterable[str], now: datetime) -> set[str]:
    """The keys not seen before, now recorded as seen: one INSERT ... ON CONFLICT DO NOTHING
    RETURNING, so of two processes recording one key at once exactly one gets it back."""
    unique = sorted(set(keys))
    if not unique:
        return set()
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(table)
        .values([{"key": key, "seen_at": now} for key in unique])
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(table.c.key)
    )
    return {str(row[0]) for row in session.execute(statement)}


def forget(session: Session, keys: Iterable[str]) -> None:
    """Seen no more: a delivery we could not queue is queued when it comes again."""
    wanted = list(keys)
    if wanted:
        session.execute(table.delete().where(table.c.key.in_(wanted)))


def prune(session: Session, before: datetime) -> int:
    """Deletes the keys seen before `before`; how many."""
    result = session.execute(table.delete().where(table.c.seen_at < before))
    return int(getattr(result, "rowcount", 0) or 0)
