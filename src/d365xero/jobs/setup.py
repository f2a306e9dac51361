"""Making a connection, from the command line (a Xero custom connection and a Dataverse
application user's credentials) or from the portal (the refresh tokens of the user's consent on
either side): checked against both services before anything is kept."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from d365xero.config import Settings
from d365xero.dataverse.discovery import discover
from d365xero.dataverse.gateway import reference_row_id
from d365xero.errors import ConfigurationError, RemoteError
from d365xero.jobs.clients import build_clients
from d365xero.jobs.kept import DATAVERSE_REFRESH, XERO_REFRESH, MemorySecrets
from d365xero.store import connections, marks
from d365xero.store.models import DEFAULT_AUTHORITY, Connection
from d365xero.store.secrets import SecretBox
from d365xero.sync.reference import LAST_IMPORT, sync_reference_data
from d365xero.trust import extra_cas, ssl_context
from d365xero.xero.client import Tenant

DEFAULT_SALES_ACCOUNT = "200"  # Sales, in Xero's UK and US charts
DEFAULT_PURCHASE_ACCOUNT = "429"  # General Expenses


@dataclass(frozen=True)
class NewConnection:
    """What a connection is made from; the tenant and authority, when not given, are the ones
    the organisation's own challenge names (dataverse/discovery.py)."""

    name: str
    xero_url: str
    xero_client_id: str
    xero_client_secret: str
    dataverse_url: str
    dataverse_client_id: str
    dataverse_client_secret: str
    dataverse_tenant: str | None = None
    dataverse_authority: str | None = None
    xero_tenant_id: str | None = None
    timezone: str = "Europe/London"
    user_id: str | None = None
    # From the portal's Connect to Xero / Connect to Dynamics (the client ids and secrets are
    # then the portal's registered apps'); Xero's id of its connection, to disconnect it.
    xero_refresh_token: str | None = None
    xero_connection_id: str | None = None
    dataverse_refresh_token: str | None = None
    # Told each refresh token rotated while the connection is checked: kept by the caller
    # too, so a failed attempt does not lose the only refresh token that still works.
    rotated: Callable[[str, str], None] | None = None

    def secrets(self) -> dict[str, str]:
        values = {
            "xero_client_secret": self.xero_client_secret,
            "dataverse_client_secret": self.dataverse_client_secret,
            XERO_REFRESH: self.xero_refresh_token,
            "xero_connection_id": self.xero_connection_id,
            DATAVERSE_REFRESH: self.dataverse_refresh_token,
        }
        return {k: v for k, v in values.items() if v}


def add_connection(
    settings: Settings, sessions: sessionmaker[Session], box: SecretBox, new: NewConnection
) -> tuple[Connection, dict[str, int]]:
    """Store the connection, create its dxc_connection and dxc_setting rows in Dynamics and
    import Xero's reference data; all or nothing on our side."""
    with sessions.begin() as session:
        connection = connections.add_connection(
            session,
            box,
            name=new.name,
            secrets=new.secrets(),
            user_id=new.user_id,
            timezone=new.timezone,
            xero_url=new.xero_url,
            xero_client_id=new.xero_client_id,
            dataverse_url=new.dataverse_url,
            dataverse_tenant=new.dataverse_tenant,
            dataverse_client_id=new.dataverse_client_id,
            dataverse_connection_row_id=str(uuid.uuid4()),
            dataverse_authority=new.dataverse_authority or DEFAULT_AUTHORITY,
        )
        connection.edits_checked_until = datetime.now(UTC)  # edits from now on go to Xero
        try:
            if not (new.dataverse_tenant and new.dataverse_authority):
                _use_discovered(settings, connection, new)
            counts = _check_and_import(settings, session, box, connection, new)
            session.flush()
            # Just imported: the passes' reference step need not import it again for a while.
            marks.set_mark(session, connection.id, LAST_IMPORT, datetime.now(UTC))
            session.flush()
        except RemoteError as exc:
            # Nothing is kept, so whatever the peer said is a fault in what was given or
            # where it points: the message already names the URL and the cause.
            raise ConfigurationError(str(exc)) from exc
        except IntegrityError as exc:  # another process made the same one meanwhile
            raise ConfigurationError(
                f"a connection with the name {new.name!r} or for the same two organisations was "
                "made meanwhile: see `d365xero connection list`"
            ) from exc
        session.expunge(connection)
    return connection, counts


def _use_discovered(settings: Settings, connection: Connection, new: NewConnection) -> None:
    org_url = connection.dataverse_url or ""
    with httpx.Client(verify=ssl_context(extra_cas(settings))) as http:
        challenge = discover(http, org_url)
    connection.dataverse_tenant = new.dataverse_tenant or challenge.tenant
    if not new.dataverse_authority:
        connection.dataverse_authority = challenge.authority


def _check_and_import(
    settings: Settings, session: Session, box: SecretBox, connection: Connection, new: NewConnection
) -> dict[str, int]:
    secrets = connections.read_secrets(box, connection)
    kept = _Rotations(secrets, new.rotated)
    with build_clients(settings, connection, secrets, kept=kept) as c:
        tenants = c.xero.tenants()
        tenant = _pick_tenant(tenants, new.xero_tenant_id)
        connections.assign_tenant(session, connection, tenant.tenant_id, tenant.name)
        c.xero.tenant_id = tenant.tenant_id
        c.dynamics.ensure_connection(new.name, tenant.tenant_id, tenant.name, connection.id)
        data, counts = sync_reference_data(c.xero, c.dynamics, tenant.tenant_id)
        accounts = {a.code: a.xero_id for a in data.accounts}
        counts["dxc_settings"] = int(
            c.dynamics.ensure_settings(
                tenant.tenant_id,
                _account_row(tenant.tenant_id, accounts.get(DEFAULT_SALES_ACCOUNT)),
                _account_row(tenant.tenant_id, accounts.get(DEFAULT_PURCHASE_ACCOUNT)),
                connection.timezone,
            )
        )
    if kept.changed:  # a refresh token rotated: the connection keeps the newest
        connections.update_secrets(box, connection, kept.changed)
    return counts


class _Rotations(MemorySecrets):
    def __init__(self, secrets: dict[str, Any], told: Callable[[str, str], None] | None):
        super().__init__(secrets)
        self.changed: dict[str, str] = {}
        self._told = told

    def save(self, key: str, value: str) -> None:
        super().save(key, value)
        self.changed[key] = value
        if self._told is not None:
            self._told(key, value)


def _account_row(tenant_id: str, xero_account_id: str | None) -> str | None:
    return reference_row_id(tenant_id, "account", xero_account_id) if xero_account_id else None


def _pick_tenant(tenants: list[Tenant], wanted: str | None) -> Tenant:
    if not tenants:
        raise ConfigurationError("the Xero app is not connected to any organisation")
    if wanted:
        for tenant in tenants:
            if tenant.tenant_id == wanted:
                return tenant
        raise ConfigurationError(f"the Xero app cannot reach tenant {wanted}")
    if len(tenants) > 1:
        names = ", ".join(f"{t.name} ({t.tenant_id})" for t in tenants)
        raise ConfigurationError(f"the Xero app reaches several organisations; pick one of {names}")
    return tenants[0]
