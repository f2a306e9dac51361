"""What a signed-in user may touch: only their own. Anything else is 404, not 403, so ids of
other users' connections are not even confirmed to exist."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from d365xero.jobs.runtime import Runtime
from d365xero.portal.auth import signed_in
from d365xero.portal.http import db
from d365xero.store.models import Connection, User

_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # uuid4 text, as store.models.new_id makes them


def owned_connection(session: Session, user: User, connection_id: str) -> Connection:
    # Only what an id can be: PostgreSQL refuses some text outright (a NUL byte is a DataError).
    plausible = _ID.fullmatch(connection_id) is not None
    found = session.get(Connection, connection_id) if plausible else None
    if found is None or found.user_id != user.id:
        raise HTTPException(404, "There is no such connection.")
    return found


def mine(
    request: Request,
    user: User = Depends(signed_in),
    session: Session = Depends(db, scope="function"),
) -> Connection:
    """The dependency of a connection's pages: the one {connection_id} in the path names, in
    the request's store session (`db`), if it is the signed-in user's. Read from the path as
    routed: the dashboard's paths make it a UUID (`:uuid`), the others leave it text."""
    return owned_connection(session, user, str(request.path_params["connection_id"]))


@contextmanager
def changing(rt: Runtime, user: User, connection_id: str) -> Iterator[tuple[Session, Connection]]:
    """The user's connection in a transaction of its own, for a route whose change must be
    committed before the route goes on (forgetting its clients, resuming it, revoking at Xero:
    they read the store afresh); `mine`'s session commits only once the route has returned."""
    with rt.sessions.begin() as session:
        yield session, owned_connection(session, user, connection_id)
