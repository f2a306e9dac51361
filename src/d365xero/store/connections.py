"""Connections: add, find, list, pause and resume them, and read or update their sealed secrets.

Secrets are a JSON dict (client secrets, OAuth tokens) sealed by a SecretBox; they are only ever
clear text in the caller's hands.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.orm import Session

from d365xero.domain.subscription import TRIAL, Entitlement, entitlement, trial_end
from d365xero.errors import ConfigurationError
from d365xero.store.models import (
    DEFAULT_AUTHORITY,
    DEFAULT_TIMEZONE,
    DEFAULT_XERO_URL,
    Connection,
    ConnectionStatus,
    name_key,
    new_id,
    utcnow,
)
from d365xero.store.secrets import SecretBox
from d365xero.urls import organisation_url, remote_url

# What a command says when there is no connection at all.
NONE_YET = "No connections yet: add one with `d365xero connection add --name NAME ...`."


def _check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigurationError(f"unknown time zone {name!r} (use an IANA name)") from exc
    return name


def add_connection(
    session: Session,
    box: SecretBox,
    *,
    name: str,
    secrets: Mapping[str, Any],
    user_id: str | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    xero_url: str = DEFAULT_XERO_URL,
    xero_client_id: str | None = None,
    xero_tenant_id: str | None = None,
    xero_tenant_name: str | None = None,
    dataverse_url: str | None = None,
    dataverse_tenant: str | None = None,
    dataverse_client_id: str | None = None,
    dataverse_connection_row_id: str | None = None,
    dataverse_authority: str = DEFAULT_AUTHORITY,
) -> Connection:
    """A new active connection, flushed (so its id is set); names are unique per user, and
    among connections without a user, without regard to case. URLs pass the URL policy."""
    name = name.strip()
    if not name:
        raise ConfigurationError("a connection needs a name")
    existing = get_connection_by_name(session, name, user_id=user_id)
    if existing is not None:
        raise ConfigurationError(
            f"a connection named {existing.name!r} already exists (names ignore case): "
            "choose another name, or remove that one first"
        )
    created = utcnow()
    connection = Connection(
        id=new_id(),
        created_at=created,
        user_id=user_id,
        name=name,
        status=ConnectionStatus.active.value,
        timezone=_check_timezone(timezone),
        xero_url=remote_url(xero_url, "the Xero URL"),
        xero_client_id=xero_client_id,
        xero_tenant_id=xero_tenant_id,
        xero_tenant_name=xero_tenant_name,
        dataverse_url=organisation_url(dataverse_url) if dataverse_url else None,
        dataverse_tenant=dataverse_tenant,
        dataverse_client_id=dataverse_client_id,
        dataverse_connection_row_id=dataverse_connection_row_id,
        dataverse_authority=remote_url(dataverse_authority, "the Entra ID authority"),
        secrets=box.seal(secrets),
        plan=TRIAL,
        trial_ends_at=trial_end(created),
    )
    session.add(connection)
    session.flush()
    return connection


def connection_entitlement(connection: Connection) -> Entitlement:
    """Whether the connection's plan still entitles it to passes, and why not."""
    return entitlement(
        connection.plan,
        connection.trial_ends_at,
        connection.subscription_ends_at,
        utcnow(),
        connection.subscription_status,
    )


def get_connection(session: Session, connection_id: str) -> Connection | None:
    return session.get(Connection, connection_id)


def get_connection_by_name(
    session: Session, name: str, *, user_id: str | None = None
) -> Connection | None:
    """The connection of that name, in any case, owned by `user_id` (None: the ones made by the
    CLI)."""
    owner = Connection.user_id.is_(None) if user_id is None else Connection.user_id == user_id
    query = sa.select(Connection).where(Connection.name_key == name_key(name), owner)
    return session.scalars(query).one_or_none()


def find_connection(session: Session, name: str) -> Connection | None:
    """For the command line, which sees the whole store: the connection of that name whoever
    owns it (the CLI's own, or a portal user's), or of that id; a name two owners share is
    refused with their ids, since guessing would sync or remove the wrong one."""
    query = sa.select(Connection).where(Connection.name_key == name_key(name))
    found = list(session.scalars(query.order_by(Connection.created_at)))
    if len(found) > 1:
        ids = ", ".join(c.id for c in found)
        raise ConfigurationError(
            f"{len(found)} connections are named {name!r}: give one's id ({ids})"
        )
    if found or len(name.strip()) != 36:
        return found[0] if found else None
    return session.get(Connection, name.strip())


def assign_tenant(
    session: Session, connection: Connection, tenant_id: str, tenant_name: str | None
) -> None:
    """Pairs the connection with its Xero organisation, refusing a pair another connection
    already syncs (two would send every invoice twice)."""
    query = sa.select(Connection).where(
        Connection.xero_tenant_id == tenant_id,
        Connection.dataverse_url == connection.dataverse_url,
        Connection.id != connection.id,
    )
    twin = session.scalars(query).first()
    if twin is not None:
        raise ConfigurationError(
            f"connection {twin.name!r} already connects Xero organisation "
            f"{twin.xero_tenant_name or tenant_id} to {connection.dataverse_url}: use it, or "
            "remove it first"
        )
    connection.xero_tenant_id = tenant_id
    connection.xero_tenant_name = tenant_name


def list_connections(
    session: Session, *, status: ConnectionStatus | None = None
) -> list[Connection]:
    """Every connection, whoever owns it, by name."""
    query = sa.select(Connection).order_by(Connection.name, Connection.id)
    if status is not None:
        query = query.where(Connection.status == status.value)
    return list(session.scalars(query))


def list_user_connections(session: Session, user_id: str) -> list[Connection]:
    query = sa.select(Connection).where(Connection.user_id == user_id).order_by(Connection.name)
    return list(session.scalars(query))


def delete_connection(session: Session, connection: Connection) -> None:
    """Removes the connection with its sync runs and write-ahead records (foreign keys cascade)."""
    session.delete(connection)
    session.flush()


def read_secrets(box: SecretBox, connection: Connection) -> dict[str, Any]:
    return box.open(connection.secrets)


def update_secrets(
    box: SecretBox, connection: Connection, changes: Mapping[str, Any]
) -> dict[str, Any]:
    """Merges `changes` into the connection's secrets (a None value removes that key) and
    returns the new whole."""
    current = box.open(connection.secrets)
    for key, value in changes.items():
        if value is None:
            current.pop(key, None)
        else:
            current[key] = value
    connection.secrets = box.seal(current)
    return current


def pause_connection(connection: Connection, message: str) -> None:
    """Stops syncing until someone acts; `message` says what to do (e.g. how to reconnect)."""
    connection.status = ConnectionStatus.paused.value
    connection.status_message = message


def resume_connection(connection: Connection) -> None:
    connection.status = ConnectionStatus.active.value
    connection.status_message = None
