"""The write-ahead log: begin, settle, recover."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from d365xero.errors import StoreError
from d365xero.store.connections import add_connection
from d365xero.store.db import session_factory
from d365xero.store.models import Connection, XeroWrite
from d365xero.store.secrets import SecretBox
from d365xero.store.writes import (
    applied_write,
    applied_writes,
    begin_write,
    begin_writes,
    hash_request,
    mark_applied,
    mark_failed,
    pending_writes,
    writes_for_key,
)

BODY = {"Invoices": [{"Type": "ACCREC", "Contact": {"Name": "A. Datum"}}]}
HASH = hash_request(BODY)


@pytest.fixture
def connection(session: Session, box: SecretBox) -> Connection:
    made = add_connection(session, box, name="Main", secrets={})
    session.commit()
    return made


def test_hash_request_is_canonical() -> None:
    assert hash_request({"b": 1, "a": [1, 2]}) == hash_request({"a": [1, 2], "b": 1})
    assert hash_request({"a": 1}) != hash_request({"a": 2})
    assert hash_request(b"{}") == hash_request("{}")
    assert len(HASH) == 64 and int(HASH, 16) >= 0


def test_begin_then_apply_round_trip(
    sessions: sessionmaker[Session], session: Session, connection: Connection
) -> None:
    write = begin_write(session, connection.id, "invoice", "inv-guid-1", "key-1", HASH)
    assert write.id is not None and write.state == "pending" and write.xero_id is None
    session.commit()
    mark_applied(session, write, "xero-invoice-1")
    session.commit()
    with sessions() as other:
        found = applied_write(other, connection.id, "invoice", "inv-guid-1")
        assert found is not None
        assert (found.state, found.xero_id, found.idempotency_key) == (
            "applied",
            "xero-invoice-1",
            "key-1",
        )
        assert found.request_hash == HASH
        assert found.updated_at >= found.created_at
        assert pending_writes(other, connection.id) == []


def test_begin_again_returns_the_same_record(session: Session, connection: Connection) -> None:
    first = begin_write(session, connection.id, "invoice", "inv-1", "key-1", HASH)
    session.commit()
    again = begin_write(session, connection.id, "invoice", "inv-1", "key-1", HASH)
    assert again.id == first.id
    assert session.scalar(sa.select(sa.func.count()).select_from(XeroWrite)) == 1


@pytest.mark.parametrize(
    ("kind", "source_id", "request_hash"),
    [
        ("invoice", "inv-1", hash_request({"other": "body"})),
        ("contact", "inv-1", HASH),
        ("contact", "inv-2", HASH),
    ],
)
def test_a_key_cannot_serve_another_write(
    session: Session, connection: Connection, kind: str, source_id: str, request_hash: str
) -> None:
    begin_write(session, connection.id, "invoice", "inv-1", "key-1", HASH)
    with pytest.raises(StoreError, match="key-1"):
        begin_write(session, connection.id, kind, source_id, "key-1", request_hash)


def test_one_request_stands_for_each_record_of_its_batch(
    session: Session, connection: Connection
) -> None:
    first = begin_write(session, connection.id, "invoice", "inv-1", "batch-1", HASH)
    other_part = hash_request({"Invoices": [{"Type": "ACCREC", "Reference": "2"}]})
    second = begin_write(session, connection.id, "invoice", "inv-2", "batch-1", other_part)
    assert first.id != second.id
    assert writes_for_key(session, connection.id, "batch-1") == [first, second]
    assert writes_for_key(session, connection.id, "batch-2") == []


def test_database_keeps_key_and_record_unique(session: Session, connection: Connection) -> None:
    for _ in (1, 2):
        session.add(
            XeroWrite(
                connection_id=connection.id,
                kind="invoice",
                source_id="inv-1",
                idempotency_key="same",
                request_hash=HASH,
            )
        )
    with pytest.raises(IntegrityError):
        session.flush()


def test_key_length_follows_xero(session: Session, connection: Connection) -> None:
    longest = "k" * 128
    assert begin_write(session, connection.id, "item", "p-1", longest, HASH).idempotency_key == (
        longest
    )
    with pytest.raises(ValueError):
        begin_write(session, connection.id, "item", "p-2", "k" * 129, HASH)
    with pytest.raises(ValueError):
        begin_write(session, connection.id, "item", "p-3", "", HASH)
    with pytest.raises(ValueError):
        begin_write(session, connection.id, "item", "p-4", "key-4", "abc")


def test_pending_writes_survive_a_crash(
    engine: Engine, session: Session, box: SecretBox, connection: Connection
) -> None:
    other = add_connection(session, box, name="Other", secrets={})
    first = begin_write(session, connection.id, "contact", "acc-1", "k1", HASH)
    second = begin_write(session, connection.id, "invoice", "inv-1", "k2", HASH)
    settled = begin_write(session, connection.id, "invoice", "inv-2", "k3", HASH)
    failed = begin_write(session, connection.id, "invoice", "inv-3", "k4", HASH)
    begin_write(session, other.id, "invoice", "inv-9", "k5", HASH)
    mark_applied(session, settled, "x-3")
    mark_failed(session, failed, "Invoice # must be unique.")
    session.commit()
    engine.dispose()  # a "restart": nothing survives but the database
    with session_factory(engine)() as fresh:
        assert [w.idempotency_key for w in pending_writes(fresh, connection.id)] == [
            first.idempotency_key,
            second.idempotency_key,
        ]
        assert [w.idempotency_key for w in pending_writes(fresh, other.id)] == ["k5"]


def test_mark_failed_keeps_the_reason(
    sessions: sessionmaker[Session], connection: Connection
) -> None:
    with sessions() as session:
        write = begin_write(session, connection.id, "invoice", "inv-1", "k1", HASH)
        mark_failed(session, write, "Account could not be found")
        session.commit()
    with sessions() as session:
        found = session.get(XeroWrite, write.id)
        assert found is not None
        assert (found.state, found.detail) == ("failed", "Account could not be found")
        assert applied_write(session, connection.id, "invoice", "inv-1") is None


def test_an_applied_write_cannot_be_marked_failed(session: Session, connection: Connection) -> None:
    write = begin_write(session, connection.id, "invoice", "inv-1", "k1", HASH)
    mark_applied(session, write, "x-1")
    with pytest.raises(StoreError, match="already applied"):
        mark_failed(session, write, "late error")


def test_applied_write_is_the_latest_of_its_kind_and_source(
    session: Session, connection: Connection
) -> None:
    older = begin_write(session, connection.id, "invoice", "inv-1", "k1", HASH)
    mark_applied(session, older, "x-old")
    newer = begin_write(session, connection.id, "invoice", "inv-1", "k2", hash_request({"v": 2}))
    mark_applied(session, newer, "x-new")
    pending = begin_write(session, connection.id, "invoice", "inv-1", "k3", hash_request({"v": 3}))
    assert pending.state == "pending"
    found = applied_write(session, connection.id, "invoice", "inv-1")
    assert found is not None and found.xero_id == "x-new"
    assert applied_write(session, connection.id, "contact", "inv-1") is None
    assert applied_write(session, connection.id, "invoice", "inv-2") is None


def test_database_refuses_an_unknown_state(session: Session, connection: Connection) -> None:
    write = begin_write(session, connection.id, "invoice", "inv-1", "k1", HASH)
    write.state = "maybe"
    with pytest.raises(IntegrityError):
        session.flush()


def test_a_batch_is_begun_in_one_go_and_again_harmlessly(
    session: Session, connection: Connection
) -> None:
    parts = {f"inv-{n}": hash_request({"n": n}) for n in range(60)}
    first = begin_writes(session, connection.id, "invoice", "batch-60", parts)
    again = begin_writes(session, connection.id, "invoice", "batch-60", parts)
    assert [w.id for w in first] == [w.id for w in again]
    assert len(writes_for_key(session, connection.id, "batch-60")) == 60
    with pytest.raises(StoreError):
        begin_writes(session, connection.id, "invoice", "batch-60", {"inv-1": HASH})


def test_the_latest_applied_write_of_many_records_in_one_query(
    session: Session, connection: Connection
) -> None:
    old = begin_write(session, connection.id, "invoice", "inv-1", "k-1", HASH)
    mark_applied(session, old, "xero-old")
    new = begin_write(session, connection.id, "invoice", "inv-1", "k-2", HASH)
    mark_applied(session, new, "xero-new")
    begin_write(session, connection.id, "invoice", "inv-2", "k-3", HASH)  # pending only
    found = applied_writes(session, connection.id, "invoice", ["inv-1", "inv-2", "inv-3"])
    assert {k: w.xero_id for k, w in found.items()} == {"inv-1": "xero-new"}


def test_a_batch_is_settled_in_a_few_statements_not_one_per_write(
    engine: Engine, sessions: sessionmaker[Session], connection: Connection
) -> None:
    """50 invoices Xero created are marked applied together: the UPDATEs go as one executemany
    at the commit, not a round trip each (which a loaded database turns into seconds a pass)."""
    from d365xero.jobs.ledger import StoreLedger

    ledger = StoreLedger(sessions, connection.id)
    parts = {f"inv-{n}": f"body {n}".encode() for n in range(50)}
    key = ledger.begin("invoice", parts)
    statements: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement.split()[0].upper())

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        ledger.applied(key, {source: f"xero-{source}" for source in parts})
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert statements.count("UPDATE") == 1, statements
    found = ledger.last_applied("invoice", list(parts))
    assert {s: w.xero_id for s, w in found.items()} == {s: f"xero-{s}" for s in parts}
