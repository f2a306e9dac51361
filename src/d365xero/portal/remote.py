"""A connection's Xero and Dynamics clients for a portal page: the runtime's (kept between
requests and passes, so tokens are reused), and the words for a peer that could not answer."""

from __future__ import annotations

from fastapi import Request

from d365xero.errors import AuthorisationLost, ConfigurationError, D365XeroError
from d365xero.jobs.clients import ConnectionClients
from d365xero.portal.http import runtime
from d365xero.store import connections
from d365xero.store.models import Connection


def clients(request: Request, connection: Connection) -> ConnectionClients:
    found = runtime(request)
    return found.clients_for(connection, connections.read_secrets(found.box, connection))


def created(connection: Connection) -> bool:
    """Whether the connection has been made (Create Connection): both sides are linked."""
    return bool(connection.xero_tenant_id and connection.dataverse_connection_row_id)


def unreachable(exc: D365XeroError) -> str:
    """What to tell the user when Xero or Dynamics refused or did not answer."""
    if isinstance(exc, AuthorisationLost):
        return f"The connection's consent is no longer valid: {exc} (use Connect to reconnect)."
    if isinstance(exc, ConfigurationError):
        return f"The connection cannot reach its services: {exc} (use Connect to reconnect)."
    return f"Could not reach Xero or Dynamics: {exc}"


def failure_status(exc: D365XeroError) -> int:
    """409 for what the user can fix here (a side disconnected, consent withdrawn: the Connect
    tab), 502 for a peer that failed to answer."""
    return 409 if isinstance(exc, AuthorisationLost | ConfigurationError) else 502
