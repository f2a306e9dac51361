"""Connections being made (or a side being reconnected) in the portal: a user's draft holds
what the OAuth flows have got so far, sealed. One flow may be pending per draft: its state is
kept sealed with its PKCE verifier and found by the state's SHA-256, and is taken (cleared)
by the first callback that presents it, so a state works once."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from d365xero.store.models import ConnectionDraft, User, new_id, utcnow
from d365xero.store.secrets import SecretBox

LIFETIME = timedelta(hours=2)  # long enough to install the solution in Dynamics meanwhile
PENDING = "pending"  # the data key of the flow under way: {"state", "verifier", "side", ...}


def _hash(state: str) -> str:
    return hashlib.sha256(state.encode("utf-8")).hexdigest()


def new_draft(
    session: Session,
    box: SecretBox,
    user: User,
    connection_id: str | None = None,
    now: datetime | None = None,
) -> ConnectionDraft:
    """A fresh draft; the user's expired ones go at the same time."""
    now = now or utcnow()
    session.execute(
        sa.delete(ConnectionDraft).where(
            ConnectionDraft.user_id == user.id, ConnectionDraft.expires_at <= now
        )
    )
    draft = ConnectionDraft(
        id=new_id(),
        user_id=user.id,
        connection_id=connection_id,
        data=box.seal({}),
        created_at=now,
        expires_at=now + LIFETIME,
    )
    session.add(draft)
    session.flush()
    return draft


def users_draft(
    session: Session, user: User, draft_id: str, now: datetime | None = None
) -> ConnectionDraft | None:
    """The user's live draft of that id; None for anyone else's, an expired one, or none."""
    found = session.get(ConnectionDraft, draft_id) if len(draft_id) <= 64 else None
    if found is None or found.user_id != user.id or found.expires_at <= (now or utcnow()):
        return None
    return found


def read(box: SecretBox, draft: ConnectionDraft) -> dict[str, Any]:
    return box.open(draft.data)


def write(box: SecretBox, draft: ConnectionDraft, data: dict[str, Any]) -> None:
    draft.data = box.seal(data)


def begin_flow(box: SecretBox, draft: ConnectionDraft, side: str, **values: Any) -> str:
    """A new state for `side`'s flow (replacing any flow still pending); returns the state."""
    state = secrets.token_urlsafe(32)
    data = read(box, draft)
    data[PENDING] = {"state": state, "side": side, **values}
    write(box, draft, data)
    draft.state_hash = _hash(state)
    return state


def take_flow(
    session: Session,
    box: SecretBox,
    user: User,
    state: str,
    side: str,
    now: datetime | None = None,
) -> tuple[ConnectionDraft, dict[str, Any]] | None:
    """The signed-in user's draft whose pending `side` flow has this state, and that flow's
    values; the state is cleared, so a second callback with it finds nothing. None for an
    unknown, expired, used or another user's state."""
    if not state or len(state) > 200:
        return None
    found = session.scalars(
        sa.select(ConnectionDraft).where(ConnectionDraft.state_hash == _hash(state))
    ).one_or_none()
    if found is None or found.user_id != user.id or found.expires_at <= (now or utcnow()):
        return None
    data = read(box, found)
    pending = data.pop(PENDING, None)
    if not pending or pending.get("side") != side:
        return None
    if not secrets.compare_digest(str(pending.get("state", "")), state):
        return None
    found.state_hash = None
    write(box, found, data)
    session.flush()
    return found, pending
