"""Drafts of connections being made: sealed, found by the state's hash only, a state taken once
and only by its user and side, expiring, and resealed by `secrets rotate`."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.orm import Session, sessionmaker

from d365xero.store import drafts
from d365xero.store.models import ConnectionDraft, utcnow
from d365xero.store.rotation import rotate
from d365xero.store.secrets import SecretBox
from d365xero.store.users import create_user

PASSWORD = "correct horse battery staple 42"


def test_a_state_is_taken_once_by_its_user_and_side(
    sessions: sessionmaker[Session], box: SecretBox
) -> None:
    with sessions.begin() as session:
        ada = create_user(session, "ada@example.com", PASSWORD)
        eve = create_user(session, "eve@example.com", PASSWORD)
        draft = drafts.new_draft(session, box, ada)
        state = drafts.begin_flow(box, draft, "xero", verifier="v" * 64)
        data = drafts.read(box, draft)
        data["xero"] = {"refresh_token": "rt-secret"}
        drafts.write(box, draft, data)
    with sessions.begin() as session:
        raw = session.scalars(sa.select(ConnectionDraft)).one()
        assert state not in raw.data and "rt-secret" not in raw.data and "v" * 64 not in raw.data
        assert raw.state_hash != state
        assert drafts.take_flow(session, box, eve, state, "xero") is None
        assert drafts.take_flow(session, box, ada, state, "dynamics") is None
        assert drafts.take_flow(session, box, ada, "forged", "xero") is None
        taken = drafts.take_flow(session, box, ada, state, "xero")
        assert taken is not None and taken[1]["verifier"] == "v" * 64
        assert drafts.read(box, taken[0])["xero"] == {"refresh_token": "rt-secret"}
    with sessions.begin() as session:
        assert drafts.take_flow(session, box, ada, state, "xero") is None
        assert drafts.users_draft(session, eve, draft.id) is None
        assert drafts.users_draft(session, ada, draft.id) is not None


def test_drafts_expire_and_go_when_a_new_one_is_made(
    sessions: sessionmaker[Session], box: SecretBox
) -> None:
    with sessions.begin() as session:
        ada = create_user(session, "ada@example.com", PASSWORD)
        old = drafts.new_draft(session, box, ada, now=utcnow() - drafts.LIFETIME - timedelta(1))
        state = drafts.begin_flow(box, old, "xero")
    with sessions.begin() as session:
        assert drafts.users_draft(session, ada, old.id) is None
        assert drafts.take_flow(session, box, ada, state, "xero") is None
        drafts.new_draft(session, box, ada)
    with sessions() as session:
        assert session.get(ConnectionDraft, old.id) is None


def test_secrets_rotate_reseals_drafts(sessions: sessionmaker[Session]) -> None:
    old_key, new_key = Fernet.generate_key(), Fernet.generate_key()
    with sessions.begin() as session:
        ada = create_user(session, "ada@example.com", PASSWORD)
        draft = drafts.new_draft(session, SecretBox(old_key), ada)
        drafts.write(SecretBox(old_key), draft, {"xero": {"refresh_token": "rt"}})
    progress = rotate(sessions, SecretBox(new_key, old=[old_key]))
    assert progress.resealed == 1
    with sessions() as session:
        found = session.get(ConnectionDraft, draft.id)
        assert found is not None
        assert drafts.read(SecretBox(new_key), found) == {"xero": {"refresh_token": "rt"}}
