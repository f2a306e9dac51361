"""The connection's webhook in Dynamics, kept where D365XERO_PUBLIC_URL says `serve` is:
registered when a connection is made or resumed, checked each time `serve` starts, removed when
the connection is deleted. A webhook that cannot be registered is said so and polling carries
on: a missed webhook only delays a change."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from d365xero.config import Settings
from d365xero.dataverse import webhooks
from d365xero.errors import D365XeroError
from d365xero.jobs.runtime import Runtime
from d365xero.store import connections
from d365xero.store.models import Connection

WEBHOOK_KEY = "dataverse_webhook_key"  # the service endpoint's key, in the connection's secrets
LIVE_WITHIN = timedelta(minutes=30)  # a delivery this recent: that side's webhook is live


def dataverse_webhook_url(settings: Settings, connection_id: str) -> str | None:
    if not settings.public_url:
        return None
    return f"{settings.public_url.rstrip('/')}/webhooks/dataverse/{connection_id}"


def ensure_dataverse_webhook(runtime: Runtime, connection_id: str) -> str:
    """Registers (or repairs) the webhook; returns a line saying what was done."""
    url = dataverse_webhook_url(runtime.settings, connection_id)
    if url is None:
        return "Dynamics webhook not registered: set D365XERO_PUBLIC_URL (polling still syncs)"
    with runtime.sessions.begin() as session:
        connection = connections.get_connection(session, connection_id)
        if connection is None:
            raise D365XeroError(f"no connection {connection_id}")
        stored = connections.read_secrets(runtime.box, connection)
        key = stored.get(WEBHOOK_KEY)
        if not key:
            key = secrets.token_urlsafe(32)
            stored = connections.update_secrets(runtime.box, connection, {WEBHOOK_KEY: key})
        clients = runtime.clients_for(connection, stored)
        name = connection.name
        registration = webhooks.register(clients.dataverse, connection_id, url, str(key))
        connection.dataverse_endpoint_id = registration.endpoint_id
    return f"{name}: Dynamics webhook registered at {url} ({registration.steps} steps)"


def remove_dataverse_webhook(runtime: Runtime, connection: Connection) -> str | None:
    """Removes the connection's webhook from Dynamics; a line if there was one."""
    if not connection.dataverse_endpoint_id:
        return None
    stored = connections.read_secrets(runtime.box, connection)
    clients = runtime.clients_for(connection, stored)
    webhooks.unregister(clients.dataverse, connection.dataverse_endpoint_id)
    runtime.forget_clients(connection.id)
    return f"{connection.name}: Dynamics webhook removed"


def liveness(connection: Connection, now: datetime | None = None) -> str:
    """'xero live, dynamics quiet' and the like, for `connection list`."""
    now = now or datetime.now(UTC)

    def side(at: datetime | None, registered: bool) -> str:
        if not registered:
            return "not registered"
        return "live" if at is not None and now - at <= LIVE_WITHIN else "quiet"

    xero = side(connection.xero_webhook_at, True)
    dynamics = side(connection.dataverse_webhook_at, bool(connection.dataverse_endpoint_id))
    return f"xero {xero}, dynamics {dynamics}"
