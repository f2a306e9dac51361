"""The signed-in user's connections (the list), and a connection's Connect tab: each side's
state with Disconnect or Connect again, a paused connection's reason, and Update Connection
(its name and time zone). Reconnecting runs the same OAuth flows as Create a New Connection
(pages/connect_flow.py), with a draft that names the connection."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from d365xero.dataverse.gateway import COUNT_LIMIT
from d365xero.domain.subscription import TRIAL
from d365xero.errors import D365XeroError
from d365xero.jobs.kept import DATAVERSE_REFRESH, XERO_REFRESH
from d365xero.jobs.runtime import Runtime
from d365xero.portal import oauth
from d365xero.portal.auth import signed_in
from d365xero.portal.http import db, form_fields, runtime
from d365xero.portal.owned import changing, mine, owned_connection
from d365xero.portal.pages import connect_flow as flow
from d365xero.portal.web import redirect, render
from d365xero.store import connections, drafts
from d365xero.store.models import (
    Connection,
    ConnectionDraft,
    ConnectionStatus,
    InvoiceRetry,
    SyncRun,
    User,
    name_key,
    utcnow,
)

router = APIRouter()

# What a redirect back to the Connect tab says (fixed texts: nothing from the URL is shown).
NOTICES = {
    "xero": ("ok", "Xero is connected."),
    "dynamics": ("ok", "Dynamics is connected."),
    "resumed": ("ok", "Both sides are connected again: syncing has resumed."),
    "xero-other": (
        "bad",
        "The organisation allowed on Xero's page is not the one this connection syncs: "
        "Connect to Xero again and pick it.",
    ),
    "dynamics-other": (
        "bad",
        "The organisation picked on Microsoft's page is not the one this connection syncs: "
        "Connect to Dynamics again and pick it.",
    ),
    "xero-off": ("warn", "Xero is disconnected: syncing is paused until you connect it again."),
    "dynamics-off": (
        "warn",
        "Dynamics is disconnected: syncing is paused until you connect it again.",
    ),
    "updated": ("ok", "The connection is updated."),
    "failed": ("bad", "The sign-in did not finish: try again."),
}


# --- the list -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    connection: Connection
    label: str
    plan: str
    trial_days: int | None
    last_run: SyncRun | None
    waiting: int

    @property
    def failed(self) -> int | None:
        """The invoices with export status Failed in Dynamics after the last pass (None: not
        counted)."""
        return self.last_run.failed_in_dynamics if self.last_run else None


def label(connection: Connection) -> str:
    """The guide's "Xero Demo Company (UK) - Dynamics https://…"."""
    xero = connection.xero_tenant_name or "(no organisation yet)"
    return f"Xero {xero} - Dynamics {connection.dataverse_url or '(none yet)'}"


def trial_days_left(connection: Connection, now: datetime) -> int | None:
    if connection.plan != TRIAL or connection.trial_ends_at is None:
        return None
    return max(0, math.ceil((connection.trial_ends_at - now).total_seconds() / 86_400))


def last_runs(session: Session, ids: list[str]) -> dict[str, SyncRun]:
    """Each connection's latest pass, in one query (ids grow with time)."""
    if not ids:
        return {}
    latest = (
        sa.select(sa.func.max(SyncRun.id))
        .where(SyncRun.connection_id.in_(ids))
        .group_by(SyncRun.connection_id)
    )
    return {
        r.connection_id: r
        for r in session.scalars(sa.select(SyncRun).where(SyncRun.id.in_(latest)))
    }


def waiting_retries(session: Session, ids: list[str]) -> dict[str, int]:
    """Invoices Xero did not answer for, waiting for their next attempt (invoice_retries)."""
    if not ids:
        return {}
    query = (
        sa.select(InvoiceRetry.connection_id, sa.func.count())
        .where(InvoiceRetry.connection_id.in_(ids))
        .group_by(InvoiceRetry.connection_id)
    )
    return {cid: int(n) for cid, n in session.execute(query)}


def rows(session: Session, user: User) -> list[Row]:
    found = connections.list_user_connections(session, user.id)
    ids = [c.id for c in found]
    runs, waiting, now = last_runs(session, ids), waiting_retries(session, ids), utcnow()
    return [
        Row(
            c,
            label(c),
            connections.connection_entitlement(c).reason,
            trial_days_left(c, now),
            runs.get(c.id),
            waiting.get(c.id, 0),
        )
        for c in found
    ]


@router.get("/connections", name="connections")
def connection_list(request: Request, user: User = Depends(signed_in)) -> Response:
    with runtime(request).sessions() as session:
        found = rows(session, user)
    return render(request, "connections/list.html", {"rows": found, "count_limit": COUNT_LIMIT})


# --- the Connect tab ----------------------------------------------------------------------------


def sides(rt: Runtime, connection: Connection) -> dict[str, Any]:
    """Whether each side can still be reached, and how it was authorised (nothing secret)."""
    stored = connections.read_secrets(rt.box, connection)
    return {
        "xero": bool(stored.get(XERO_REFRESH) or stored.get("xero_client_secret")),
        "xero_oauth": bool(stored.get(XERO_REFRESH)),
        "dynamics": bool(stored.get(DATAVERSE_REFRESH) or stored.get("dataverse_client_secret")),
        "dynamics_oauth": bool(stored.get(DATAVERSE_REFRESH)),
    }


def connect_page(
    request: Request,
    rt: Runtime,
    connection: Connection,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    notice = NOTICES.get(request.query_params.get("done", ""))
    context = {
        "connection": connection,
        "tab": "Connect",
        "label": label(connection),
        "sides": sides(rt, connection),
        "timezones": flow.timezones(),
        "form": form or {"name": connection.name, "timezone": connection.timezone},
        "errors": errors or {},
        "notices": [notice] if notice else [],
        "nav_links": [("/connections", "Connections")],
    }
    response = render(request, "connections/connect.html", context, status=status)
    return flow.with_form_targets(response, rt.settings, connection.dataverse_authority)


@router.get("/connections/{connection_id}/connect")
def show_connect(request: Request, connection: Connection = Depends(mine)) -> Response:
    return connect_page(request, runtime(request), connection)


@router.post("/connections/{connection_id}/connect")
def update_connection(
    request: Request,
    connection: Connection = Depends(mine),
    session: Session = Depends(db, scope="function"),
    fields: dict[str, str] = Depends(form_fields),
    user: User = Depends(signed_in),
) -> Response:
    """Update Connection: its name and time zone."""
    errors = update_errors(session, user, connection, fields)
    if errors:
        rt = runtime(request)
        return connect_page(request, rt, connection, form=fields, errors=errors, status=400)
    connection.name, connection.timezone = fields["name"], fields["timezone"]
    return redirect(f"/connections/{connection.id}/connect?done=updated")


def update_errors(
    session: Session, user: User, connection: Connection, fields: dict[str, str]
) -> dict[str, str]:
    errors: dict[str, str] = {}
    name = fields.get("name", "")
    if not name:
        errors["name"] = "Give the connection a name."
    elif len(name) > 200:
        errors["name"] = "At most 200 characters."
    else:
        twin = connections.get_connection_by_name(session, name, user_id=user.id)
        if twin is not None and twin.id != connection.id:
            errors["name"] = f"You have a connection named {twin.name!r} already."
    if fields.get("timezone") not in dict(flow.timezones()):
        errors["timezone"] = "Pick a time zone from the list."
    return errors


def _side(side: str) -> str:
    if side not in ("xero", "dynamics"):
        raise HTTPException(404, "There is no such side.")
    return side


@router.post("/connections/{connection_id}/connect/{side}")
def reconnect(
    request: Request,
    side: str,
    connection: Connection = Depends(mine),
    session: Session = Depends(db, scope="function"),
    user: User = Depends(signed_in),
) -> Response:
    """Connect to Xero / Connect to Dynamics again: the same OAuth flow, for this connection."""
    _side(side)
    rt = runtime(request)
    draft = drafts.new_draft(session, rt.box, user, connection_id=connection.id)
    try:
        if side == "xero":
            return flow.begin_xero(request, rt, draft)
        found = {
            "org_url": connection.dataverse_url or "",
            "authority": connection.dataverse_authority,
            "tenant": connection.dataverse_tenant or "",
        }
        return flow.begin_dynamics(request, rt, draft, found)
    except D365XeroError as exc:
        return connect_page(request, rt, connection, errors={side: str(exc)}, status=400)


@router.post("/connections/{connection_id}/connect/dynamics/onprem")
def reconnect_onprem(
    request: Request,
    connection_id: str,
    fields: dict[str, str] = Depends(form_fields),
    user: User = Depends(signed_in),
) -> Response:
    """An on-prem organisation's OAuth client again (a new secret, say)."""
    rt = runtime(request)
    with changing(rt, user, connection_id) as (_, connection):
        errors = {
            name: f"Give {what}."
            for name, what in (("client_id", "the client id"), ("client_secret", "its secret"))
            if not fields.get(name)
        }
        if errors:
            kept = {"client_id": fields.get("client_id", "")}
            return connect_page(request, rt, connection, form=kept, errors=errors, status=400)
        connection.dataverse_client_id = fields["client_id"]
        connections.update_secrets(
            rt.box,
            connection,
            {"dataverse_client_secret": fields["client_secret"], DATAVERSE_REFRESH: None},
        )
        resumed = resume_if_whole(rt, connection)
    return flow.after_reconnect(rt, redirect(done_url(connection_id, resumed, "dynamics")), resumed)


@router.post("/connections/{connection_id}/disconnect/{side}")
def disconnect(
    request: Request, connection_id: str, side: str, user: User = Depends(signed_in)
) -> Response:
    """Revokes the side's authorisation (Xero: the connection and the refresh token; Entra ID
    offers apps no revocation of a user's refresh token, so it is forgotten) and pauses."""
    _side(side)
    rt = runtime(request)
    with changing(rt, user, connection_id) as (session, connection):
        stored = connections.read_secrets(rt.box, connection)
        if side == "xero":
            forget: dict[str, Any] = {XERO_REFRESH: None, "xero_client_secret": None}
            forget["xero_connection_id"] = None
            name = "Xero"
        else:
            forget = {DATAVERSE_REFRESH: None, "dataverse_client_secret": None}
            name = "Dynamics"
        connections.update_secrets(rt.box, connection, forget)
        # Revoking Xero's refresh token ends every organisation that Xero user gave the app,
        # so not while another of this user's connections was authorised in the portal.
        revoke = not any(
            sides(rt, other)["xero_oauth"]
            for other in connections.list_user_connections(session, user.id)
            if other.id != connection.id
        )
        connections.pause_connection(
            connection,
            f"{name} was disconnected in the portal on {oauth.stamp(utcnow())}: "
            f"Connect to {name} again on the Connect tab to resume syncing.",
        )
    rt.forget_clients(connection_id)
    if side == "xero" and stored.get(XERO_REFRESH):
        try:
            with oauth.http_client(rt.settings) as http:
                oauth.xero_disconnect(
                    rt.settings,
                    http,
                    stored[XERO_REFRESH],
                    stored.get("xero_connection_id"),
                    revoke=revoke,
                )
        except D365XeroError:
            pass  # forgotten here either way; Xero shows the app under Connected apps
    return redirect(f"/connections/{connection_id}/connect?done={side}-off")


# --- the callbacks' reconnect half (called by connect_flow) -------------------------------------


def resume_if_whole(rt: Runtime, connection: Connection) -> str | None:
    """Resumes a paused connection once both sides are authorised; its id if it did."""
    state = sides(rt, connection)
    if connection.status == ConnectionStatus.paused.value and state["xero"] and state["dynamics"]:
        connections.resume_connection(connection)
        return connection.id
    return None


def done_url(connection_id: str, resumed: str | None, side: str) -> str:
    return f"/connections/{connection_id}/connect?done={'resumed' if resumed else side}"


def reconnected(
    rt: Runtime,
    session: Session,
    user: User,
    draft: ConnectionDraft,
    side: str,
    relink: Callable[[Connection], bool],
) -> tuple[Response, str | None]:
    """The connection the draft names takes the side's new grant (`relink`: False when it is
    for another organisation than the one the connection syncs); the page to go back to, and
    the connection's id if that resumed it."""
    connection = owned_connection(session, user, draft.connection_id or "")
    session.delete(draft)
    if not relink(connection):
        return redirect(f"/connections/{connection.id}/connect?done={side}-other"), None
    resumed = resume_if_whole(rt, connection)
    return redirect(done_url(connection.id, resumed, side)), resumed


def relink_xero(rt: Runtime, connection: Connection, choices: list[dict[str, Any]]) -> bool:
    chosen = [c for c in choices if c["tenant_id"] == connection.xero_tenant_id]
    if not chosen:
        return False
    client_id, secret = oauth.xero_app(rt.settings)
    connection.xero_client_id = client_id
    connections.update_secrets(
        rt.box,
        connection,
        {
            "xero_client_secret": secret,
            XERO_REFRESH: chosen[0]["refresh_token"],
            "xero_connection_id": chosen[0]["connection_id"],
        },
    )
    return True


def relink_dynamics(rt: Runtime, connection: Connection, side: dict[str, Any]) -> bool:
    if name_key(side["org_url"]) != name_key(connection.dataverse_url or ""):
        return False
    client_id, secret = oauth.entra_app(rt.settings)
    connection.dataverse_client_id = client_id
    connections.update_secrets(
        rt.box,
        connection,
        {"dataverse_client_secret": secret, DATAVERSE_REFRESH: side["refresh_token"]},
    )
    return True
