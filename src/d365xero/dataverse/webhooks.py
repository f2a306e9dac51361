"""Our webhook in a Dynamics organisation: a serviceendpoint (contract Webhook, auth WebhookKey:
Dataverse sends the key as the `code` query parameter) and asynchronous post-operation steps
(sdkmessageprocessingstep) for the invoice and invoice line changes a pass cares about.

learn.microsoft.com/power-apps/developer/data-platform/register-web-hook and
.../reference/entities/serviceendpoint: contract 8 = Webhook, authtype 4 = WebhookKey,
messageformat 2 = JSON; steps: mode 1 = asynchronous, stage 40 = post-operation. A message the
organisation does not offer for a table (SetState, on organisations that route state changes
through Update only) is left out rather than failing the registration."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from d365xero.dataverse.client import DataverseClient
from d365xero.errors import RemoteRejected

WEBHOOK, WEBHOOK_KEY, JSON_FORMAT = 8, 4, 2
ASYNC, POST_OPERATION = 1, 40
WATCHED = {
    "invoice": ("Create", "Update", "Delete", "SetState"),
    "invoicedetail": ("Create", "Update", "Delete"),
}


@dataclass(frozen=True)
class Registration:
    endpoint_id: str
    steps: int


def endpoint_name(connection_id: str) -> str:
    return f"d365xero {connection_id}"


def register(client: DataverseClient, connection_id: str, url: str, key: str) -> Registration:
    """Makes (or repairs) the connection's endpoint at `url` with `key`, and its steps."""
    name = endpoint_name(connection_id)
    found = client.get(
        "serviceendpoints",
        {"$filter": f"name eq '{name}'", "$select": "serviceendpointid,url"},
    )["value"]
    row = {
        "name": name,
        "contract": WEBHOOK,
        "url": url,
        "authtype": WEBHOOK_KEY,
        "authvalue": key,
        "messageformat": JSON_FORMAT,
        "userclaim": 1,
        "connectionmode": 1,
    }
    if found:
        endpoint_id = str(found[0]["serviceendpointid"])
        client.update("serviceendpoints", endpoint_id, row)
    else:
        endpoint_id = client.create("serviceendpoints", row)
    existing = {
        str(s.get("_sdkmessagefilterid_value"))
        for s in client.get(
            "sdkmessageprocessingsteps",
            {
                "$filter": f"_eventhandler_value eq {endpoint_id}",
                "$select": "sdkmessageprocessingstepid,_sdkmessagefilterid_value",
            },
        )["value"]
    }
    steps = len(existing)
    for entity, messages in WATCHED.items():
        for message in messages:
            ids = _filter(client, entity, message)
            if ids is None or ids[1] in existing:
                continue
            client.create(
                "sdkmessageprocessingsteps",
                {
                    "name": f"d365xero: {message} of {entity}",
                    "eventhandler_serviceendpoint@odata.bind": f"/serviceendpoints({endpoint_id})",
                    "sdkmessageid@odata.bind": f"/sdkmessages({ids[0]})",
                    "sdkmessagefilterid@odata.bind": f"/sdkmessagefilters({ids[1]})",
                    "mode": ASYNC,
                    "stage": POST_OPERATION,
                    "rank": 1,
                    "asyncautodelete": True,  # succeeded system jobs do not pile up
                    "supporteddeployment": 0,
                },
            )
            steps += 1
    return Registration(endpoint_id, steps)


def _filter(client: DataverseClient, entity: str, message: str) -> tuple[str, str] | None:
    """(sdkmessageid, sdkmessagefilterid) of the message on the table, if offered."""
    messages = client.get(
        "sdkmessages", {"$filter": f"name eq '{message}'", "$select": "sdkmessageid"}
    )["value"]
    if not messages:
        return None
    message_id = str(messages[0]["sdkmessageid"])
    filters = client.get(
        "sdkmessagefilters",
        {
            "$filter": (
                f"primaryobjecttypecode eq '{entity}' and _sdkmessageid_value eq {message_id}"
            ),
            "$select": "sdkmessagefilterid",
        },
    )["value"]
    return (message_id, str(filters[0]["sdkmessagefilterid"])) if filters else None


def registered_url(client: DataverseClient, endpoint_id: str) -> str | None:
    """Where the endpoint delivers, or None when it is gone."""
    try:
        row = client.get(f"serviceendpoints({endpoint_id})", {"$select": "url"})
    except RemoteRejected:
        return None
    return str(row.get("url") or "") or None


def unregister(client: DataverseClient, endpoint_id: str) -> None:
    """Removes the endpoint's steps, then the endpoint (a gone one is no error)."""
    steps = client.get(
        "sdkmessageprocessingsteps",
        {
            "$filter": f"_eventhandler_value eq {endpoint_id}",
            "$select": "sdkmessageprocessingstepid",
        },
    )["value"]
    for step in steps:
        client.delete("sdkmessageprocessingsteps", str(step["sdkmessageprocessingstepid"]))
    with contextlib.suppress(RemoteRejected):  # already removed in Dynamics
        client.delete("serviceendpoints", endpoint_id)
