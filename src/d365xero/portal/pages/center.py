"""The Synchronisation Center: Tax Rates, Account Codes, Branding Themes, imported from Xero
into Dynamics in that order (the order rule is sync.reference.check_order's, the work
jobs.reference_import's), each with its live progress and last result under its button.

Without JavaScript a button is a plain POST and the page refreshes itself while an import
runs; with HTMX the panel is swapped in place and polls its status every second.
"""

from __future__ import annotations

from typing import Any, cast

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from d365xero.dataverse.gateway import DynamicsGateway
from d365xero.errors import D365XeroError, PassInProgress
from d365xero.jobs import reference_import
from d365xero.portal import remote
from d365xero.portal.http import db, is_htmx, runtime
from d365xero.portal.owned import mine
from d365xero.portal.web import redirect, render
from d365xero.store import imports, marks
from d365xero.store.models import Connection
from d365xero.sync.ports import DynamicsPort
from d365xero.sync.reference import KINDS, LAST_IMPORT, OrderRefused, check_order

router = APIRouter()
TAB = "Synchronisation Center"
BUTTONS = {
    "taxrates": "Tax Rates",
    "accounts": "Account Codes",
    "brandingthemes": "Branding Themes",
}
NOTES = {"accounts": "This one can take minutes for a large chart of accounts."}


def _panel(request: Request, session: Session, connection: Connection) -> dict[str, Any]:
    """What the panel shows: each button, whether it is enabled (and why not), its newest
    import; whether one runs (then the panel polls)."""
    running = reference_import.import_running(runtime(request), connection.id)
    session.expire_all()  # import_running may have failed stale rows in its own session
    latest = imports.latest_imports(session, connection.id)
    blocked, notices = _blocked(request, connection, running)
    buttons = [
        {
            "kind": kind,
            "label": BUTTONS[kind],
            "note": NOTES.get(kind),
            "blocked": blocked.get(kind),
            "last": latest.get(kind),
        }
        for kind in KINDS
    ]
    base = f"/connections/{connection.id}/sync-center"
    return {
        "connection": connection,
        "buttons": buttons,
        "running": running,
        "panel_notices": notices,
        "stages": reference_import.STAGES,
        "base": base,
        # All three kinds, at creation or by a pass's hourly refresh (sync.reference).
        "refreshed": marks.get_mark(session, connection.id, LAST_IMPORT),
    }


def _blocked(
    request: Request, connection: Connection, running: bool
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Kind -> why its button is disabled; and notices for the panel."""
    if not remote.created(connection):
        why = "Enabled once you have created the connection (Create Connection)."
        return dict.fromkeys(KINDS, why), []
    if running:
        return dict.fromkeys(KINDS, "An import is running."), []
    blocked: dict[str, str] = {}
    try:
        dynamics = _Remembered(remote.clients(request, connection).dynamics)
        for kind in KINDS[1:]:
            try:
                check_order(cast(DynamicsPort, dynamics), [kind])
            except OrderRefused:
                blocked[kind] = _order_message(kind)
    except D365XeroError as exc:  # the POST checks the order again: let it say what fails
        return {}, [("warn", remote.unreachable(exc))]
    return blocked, []


class _Remembered:
    """What check_order asks Dynamics, asked once per kind for one page (the three buttons'
    checks ask about tax rates twice)."""

    def __init__(self, dynamics: DynamicsGateway) -> None:
        self.dynamics = dynamics
        self.seen: dict[str, bool] = {}

    def has_reference_rows(self, kind: str) -> bool:
        if kind not in self.seen:
            self.seen[kind] = self.dynamics.has_reference_rows(kind)
        return self.seen[kind]


def _order_message(kind: str) -> str:
    before = KINDS[KINDS.index(kind) - 1]
    return (
        f"Import {BUTTONS[before]} first: the order is Tax Rates, Account Codes, Branding Themes."
    )


def _show(
    request: Request,
    session: Session,
    connection: Connection,
    notices: list[tuple[str, str]] | None = None,
    status: int = 200,
) -> Response:
    context = _panel(request, session, connection)
    context["panel_notices"] = [*(notices or []), *context["panel_notices"]]
    if is_htmx(request):  # 200: HTMX swaps in no 4xx answer, and the notice must show
        return render(request, "center/panel.html", context)
    context["tab"] = TAB
    return render(request, "center/sync_center.html", context, status=status)


@router.get("/connections/{connection_id}/sync-center", name="sync_center")
def sync_center(
    request: Request,
    connection: Connection = Depends(mine),
    session: Session = Depends(db, scope="function"),
) -> Response:
    context = _panel(request, session, connection)
    context["tab"] = TAB
    return render(request, "center/sync_center.html", context)


@router.get("/connections/{connection_id}/sync-center/status")
def sync_status(
    request: Request,
    connection: Connection = Depends(mine),
    session: Session = Depends(db, scope="function"),
) -> Response:
    """The panel alone, for HTMX's polling."""
    return render(request, "center/panel.html", _panel(request, session, connection))


@router.post("/connections/{connection_id}/sync-center/{kind}")
def start(
    request: Request,
    kind: str,
    connection: Connection = Depends(mine),
    session: Session = Depends(db, scope="function"),
) -> Response:
    if kind not in KINDS:
        raise HTTPException(404, "There is no such import.")
    if not remote.created(connection):
        why = "Create the connection first: the imports are enabled once it exists."
        return _show(request, session, connection, [("bad", why)], status=409)
    try:  # the order rule, checked here to say it in the page's words; the import checks again
        check_order(remote.clients(request, connection).dynamics, [kind])
    except OrderRefused:
        return _show(request, session, connection, [("bad", _order_message(kind))], status=409)
    except D365XeroError as exc:
        return _show(
            request,
            session,
            connection,
            [("bad", remote.unreachable(exc))],
            status=remote.failure_status(exc),
        )
    try:
        reference_import.start_import(runtime(request), connection.id, kind)
    except PassInProgress:
        why = (
            f"{BUTTONS[kind]} did not start: an import or a sync pass of this connection is "
            "running. Press it again when that has finished."
        )
        return _show(request, session, connection, [("warn", why)], status=409)
    if is_htmx(request):
        return _show(request, session, connection)
    return redirect(f"/connections/{connection.id}/sync-center")
