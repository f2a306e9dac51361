"""What a signed-in user may touch: only their own. Anything else is 404, not 403, so ids of
other users' connections are not even confirmed to exist."""

from __future__ import annotations

from fastapi import HTTPException
from sqlalchemy.orm import Session

from d365xero.store.models import Connection, User


def owned_connection(session: Session, user: User, connection_id: str) -> Connection:
    found = session.get(Connection, connection_id) if len(connection_id) <= 64 else None
    if found is None or found.user_id != user.id:
        raise HTTPException(404, "There is no such connection.")
    return found
