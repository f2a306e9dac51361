"""What a signed-in user may touch: only their own. Anything else is 404, not 403, so ids of
other users' connections are not even confirmed to exist."""

from __future__ import annotations

import re

from fastapi import HTTPException
from sqlalchemy.orm import Session

from d365xero.store.models import Connection, User

_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # uuid4 text, as store.models.new_id makes them


def owned_connection(session: Session, user: User, connection_id: str) -> Connection:
    # Only what an id can be: PostgreSQL refuses some text outright (a NUL byte is a DataError).
    plausible = _ID.fullmatch(connection_id) is not None
    found = session.get(Connection, connection_id) if plausible else None
    if found is None or found.user_id != user.id:
        raise HTTPException(404, "There is no such connection.")
    return found
