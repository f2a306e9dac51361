"""Create a New Connection, the guide's three steps, kept in a server-side draft (store.drafts):
1. Connect to Xero (authorization code with PKCE; the organisation is picked on Xero's page);
2. Connect to Dynamics: online by Entra ID (the organisation URL names its tenant, the user
   consents and picks the organisation), or on-prem with an OAuth client's credentials; the
   solution zip to import first;
3. Configure (plan, time zone) and Create Connection (jobs.setup, as `connection add`).

The two OAuth callbacks also finish a reconnect from a connection's Connect tab (the draft then
names the connection): see pages/connections.py.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from functools import lru_cache, partial
from typing import Any, TypeVar
from zoneinfo import available_timezones

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from d365xero.config import Settings
from d365xero.errors import D365XeroError
from d365xero.jobs.hooks import ensure_dataverse_webhook
from d365xero.jobs.kept import XERO_REFRESH
from d365xero.jobs.runtime import Runtime
from d365xero.jobs.setup import NewConnection, add_connection
from d365xero.portal import oauth
from d365xero.portal.auth import signed_in, verified
from d365xero.portal.http import form_fields, runtime
from d365xero.portal.security import content_security_policy
from d365xero.portal.web import redirect, render
from d365xero.store import drafts
from d365xero.store.models import DEFAULT_TIMEZONE, Connection, ConnectionDraft, User
from d365xero.urls import organisation_url, remote_url

router = APIRouter()
NOTICE = "notice"  # a line for the next page of the draft (kind, text)
PLANS = (("trial", "30-day free trial (subscribe from Billing when it suits you)"),)
SIDES = {"xero": "Xero", "dynamics": "Dynamics"}  # a flow's side, as its notices name it
T = TypeVar("T")


@lru_cache(maxsize=1)
def timezones() -> tuple[tuple[str, str], ...]:
    return tuple((z, z) for z in sorted(available_timezones()) if "/" in z or z == "UTC")


@lru_cache(maxsize=1)
def solution_zip() -> bytes:
    from d365xero.solution.build import build_solution

    return build_solution()


def callback_url(request: Request, name: str) -> str:
    """The redirect URI registered for the portal's app: D365XERO_PUBLIC_URL's, else this
    request's origin (behind a proxy, uvicorn's forwarded headers give the public one)."""
    path = str(request.app.url_path_for(name))
    public = runtime(request).settings.public_url
    if public:
        return public.rstrip("/") + path
    return str(request.base_url).rstrip("/") + path


def with_form_targets(response: Response, settings: Settings, *origins: str) -> Response:
    """This page's CSP also lets its forms go to `origins` (an authority Dynamics named)."""
    targets = (*oauth.form_targets(settings), *(o for o in origins if o))
    response.headers["content-security-policy"] = content_security_policy(targets)
    return response


def users_draft(session: Session, user: User, draft_id: str) -> ConnectionDraft:
    found = drafts.users_draft(session, user, draft_id)
    if found is None:
        raise HTTPException(404, "There is no such connection being made (or it has expired).")
    return found


def note(rt: Runtime, draft: ConnectionDraft, kind: str, text: str) -> None:
    data = drafts.read(rt.box, draft)
    data[NOTICE] = [kind, text]
    drafts.write(rt.box, draft, data)


def draft_url(draft: ConnectionDraft) -> str:
    if draft.connection_id:
        return f"/connections/{draft.connection_id}/connect"
    return f"/connections/new/{draft.id}"


# --- the steps page -----------------------------------------------------------------------------


@router.get("/connections/new")
def new_connection(request: Request, user: User = Depends(verified)) -> Response:
    return render(request, "connections/new.html", {"nav_links": [("/connections", "Connections")]})


@router.post("/connections/new")
def start_draft(request: Request, user: User = Depends(verified)) -> Response:
    rt = runtime(request)
    with rt.sessions.begin() as session:
        draft = drafts.new_draft(session, rt.box, user)
        return redirect(f"/connections/new/{draft.id}")


@router.get("/connections/new/solution.zip")
def solution_download(user: User = Depends(signed_in)) -> Response:
    return Response(
        solution_zip(),
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="d365xero_solution.zip"'},
    )


def draft_page(
    request: Request,
    rt: Runtime,
    draft: ConnectionDraft,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    tab: str = "online",
    status: int = 200,
) -> Response:
    data = drafts.read(rt.box, draft)
    notice = data.pop(NOTICE, None)
    if notice:
        drafts.write(rt.box, draft, data)
    xero, dynamics = data.get("xero"), data.get("dynamics")
    defaults = {"timezone": DEFAULT_TIMEZONE, "plan": "trial", "name": default_name(data)}
    context = {
        "draft": draft,
        "xero": xero,
        "xero_choices": data.get("xero_choices") or [],
        "xero_options": [
            (c["tenant_id"], c["tenant_name"]) for c in data.get("xero_choices") or []
        ],
        "dynamics": dynamics,
        "found": data.get("found"),
        "tab": "onprem" if (dynamics or {}).get("mode") == "onprem" else tab,
        "plans": PLANS,
        "timezones": timezones(),
        "form": {**defaults, **(form or {})},
        "errors": errors or {},
        "notices": [tuple(notice)] if notice else [],
        "nav_links": [("/connections", "Connections")],
    }
    response = render(request, "connections/draft.html", context, status=status)
    return with_form_targets(response, rt.settings, (data.get("found") or {}).get("authority", ""))


def default_name(data: dict[str, Any]) -> str:
    xero, dynamics = data.get("xero") or {}, data.get("dynamics") or {}
    if not xero or not dynamics:
        return ""
    host = dynamics["org_url"].split("://", 1)[-1]
    return f"{xero['tenant_name']} - {host}"[:200]


@router.get("/connections/new/{draft_id}")
def show_draft(request: Request, draft_id: str, user: User = Depends(signed_in)) -> Response:
    rt = runtime(request)
    with rt.sessions.begin() as session:
        draft = users_draft(session, user, draft_id)
        if draft.connection_id:
            return redirect(draft_url(draft))
        # Step 2's tabs are links (no script): ?dynamics=onprem shows the on-prem panel.
        tab = "onprem" if request.query_params.get("dynamics") == "onprem" else "online"
        return draft_page(request, rt, draft, tab=tab)


# --- 1. Connect to Xero -------------------------------------------------------------------------


def begin_xero(request: Request, rt: Runtime, draft: ConnectionDraft) -> Response:
    verifier, challenge = oauth.pkce_pair()
    redirect_uri = callback_url(request, "xero_callback")
    state = drafts.begin_flow(rt.box, draft, "xero", verifier=verifier, redirect_uri=redirect_uri)
    return redirect(oauth.xero_authorize_url(rt.settings, redirect_uri, state, challenge))


@router.post("/connections/new/{draft_id}/xero")
def connect_xero(request: Request, draft_id: str, user: User = Depends(signed_in)) -> Response:
    rt = runtime(request)
    with rt.sessions.begin() as session:
        draft = users_draft(session, user, draft_id)
        try:
            return begin_xero(request, rt, draft)
        except D365XeroError as exc:
            return draft_page(request, rt, draft, errors={"xero": str(exc)}, status=400)


def stale(request: Request) -> Response:
    return render(
        request,
        "error.html",
        {
            "title": "This sign-in has expired",
            "message": "The answer came for a sign-in that was used already, has expired, or was "
            "started by someone else: start Connect to Xero or Connect to Dynamics again.",
        },
        status=400,
    )


def finish_flow(
    request: Request,
    user: User,
    side: str,
    state: str,
    refused: str | None,
    exchange: Callable[[Runtime, dict[str, Any]], T],
    relink: Callable[[Runtime, Connection, T], bool],
    keep: Callable[[T], dict[str, Any]],
) -> Response:
    """Both OAuth callbacks: an answer to a sign-in this user began (else `stale`), which the
    service did not refuse (`refused`: why it did) and whose code `exchange` turns into the
    side's grant; a refusal or a failed exchange is told on the draft's page. The grant goes
    to the connection a reconnect's draft names (`relink`, committed before its webhook is
    registered again), else into the draft (`keep`: the draft's fields for it)."""
    from d365xero.portal.pages.connections import reconnected

    rt = runtime(request)
    with rt.sessions.begin() as session:
        taken = drafts.take_flow(session, rt.box, user, state, side)
        if taken is None:
            return stale(request)
        draft, pending = taken
        if refused is not None:
            note(rt, draft, "bad", f"{SIDES[side]} did not connect ({refused}).")
            return redirect(draft_url(draft))
        try:
            grant = exchange(rt, pending)
        except D365XeroError as exc:
            note(rt, draft, "bad", f"{SIDES[side]} did not connect: {exc}")
            return redirect(draft_url(draft))
        if draft.connection_id:
            response, resumed = reconnected(
                rt, session, user, draft, side, lambda connection: relink(rt, connection, grant)
            )
    if draft.connection_id:
        return after_reconnect(rt, response, resumed)
    with rt.sessions.begin() as session:
        draft = users_draft(session, user, draft.id)
        data = drafts.read(rt.box, draft)
        data.update(keep(grant))
        drafts.write(rt.box, draft, data)
        return redirect(draft_url(draft))


@router.get("/connections/new/xero/callback", name="xero_callback")
def xero_callback(
    request: Request,
    state: str = "",
    code: str = "",
    error: str = "",
    user: User = Depends(signed_in),
) -> Response:
    from d365xero.portal.pages.connections import relink_xero

    refused = (error[:100] or "no code") if error or not code else None
    exchange = partial(xero_choices, code=code)
    return finish_flow(request, user, "xero", state, refused, exchange, relink_xero, xero_fields)


def xero_choices(rt: Runtime, pending: dict[str, Any], code: str) -> list[dict[str, Any]]:
    """The organisations the user allowed on Xero's page, each with the grant's refresh
    token."""
    with oauth.http_client(rt.settings) as http:
        body, tenants = oauth.xero_exchange(
            rt.settings, http, code, pending["redirect_uri"], pending["verifier"]
        )
    return [
        {
            "tenant_id": t.tenant_id,
            "tenant_name": t.name,
            "connection_id": t.connection_id,
            "refresh_token": body["refresh_token"],
        }
        for t in tenants
    ]


def xero_fields(choices: list[dict[str, Any]]) -> dict[str, Any]:
    """One organisation is the draft's; of several, the user picks one next."""
    if len(choices) == 1:
        return {"xero": choices[0], "xero_choices": []}
    return {"xero": None, "xero_choices": choices}


@router.post("/connections/new/{draft_id}/xero/organisation")
def pick_xero_organisation(
    request: Request,
    draft_id: str,
    fields: dict[str, str] = Depends(form_fields),
    user: User = Depends(signed_in),
) -> Response:
    rt = runtime(request)
    with rt.sessions.begin() as session:
        draft = users_draft(session, user, draft_id)
        data = drafts.read(rt.box, draft)
        chosen = [
            c for c in data.get("xero_choices") or [] if c["tenant_id"] == fields.get("tenant")
        ]
        if not chosen:
            message = "Pick one of the organisations you allowed."
            return draft_page(request, rt, draft, errors={"tenant": message}, status=400)
        data["xero"], data["xero_choices"] = chosen[0], []
        drafts.write(rt.box, draft, data)
        return redirect(draft_url(draft))


# --- 2. Connect to Dynamics ---------------------------------------------------------------------


@router.post("/connections/new/{draft_id}/dynamics/find")
def find_dynamics(
    request: Request,
    draft_id: str,
    fields: dict[str, str] = Depends(form_fields),
    user: User = Depends(signed_in),
) -> Response:
    """Step 2a: the organisation's URL; its challenge names the Entra tenant (discovery)."""
    rt = runtime(request)
    with rt.sessions.begin() as session:
        draft = users_draft(session, user, draft_id)
        typed = fields.get("org_url", "")
        if not typed:
            errors = {"org_url": "Type your Dynamics organisation's URL."}
            return draft_page(request, rt, draft, form=fields, errors=errors, status=400)
        try:
            with oauth.http_client(rt.settings) as http:
                target = oauth.entra_target(rt.settings, http, typed)
        except D365XeroError as exc:
            return draft_page(
                request, rt, draft, form=fields, errors={"org_url": str(exc)}, status=400
            )
        data = drafts.read(rt.box, draft)
        data["found"] = {
            "org_url": target.org_url,
            "authority": target.authority,
            "tenant": target.tenant,
        }
        drafts.write(rt.box, draft, data)
        return redirect(draft_url(draft))


def begin_dynamics(
    request: Request, rt: Runtime, draft: ConnectionDraft, found: dict[str, str]
) -> Response:
    target = oauth.EntraTarget(found["org_url"], found["authority"], found["tenant"])
    verifier, challenge = oauth.pkce_pair()
    redirect_uri = callback_url(request, "dynamics_callback")
    state = drafts.begin_flow(
        rt.box, draft, "dynamics", verifier=verifier, redirect_uri=redirect_uri, target=found
    )
    return redirect(oauth.entra_authorize_url(rt.settings, target, redirect_uri, state, challenge))


@router.post("/connections/new/{draft_id}/dynamics")
def connect_dynamics(request: Request, draft_id: str, user: User = Depends(signed_in)) -> Response:
    rt = runtime(request)
    with rt.sessions.begin() as session:
        draft = users_draft(session, user, draft_id)
        found = drafts.read(rt.box, draft).get("found")
        if not found:
            errors = {"org_url": "Type your Dynamics organisation's URL first."}
            return draft_page(request, rt, draft, errors=errors, status=400)
        try:
            return begin_dynamics(request, rt, draft, found)
        except D365XeroError as exc:
            return draft_page(request, rt, draft, errors={"dynamics": str(exc)}, status=400)


@router.get("/connections/new/dynamics/callback", name="dynamics_callback")
def dynamics_callback(
    request: Request,
    state: str = "",
    code: str = "",
    error: str = "",
    error_description: str = "",
    user: User = Depends(signed_in),
) -> Response:
    from d365xero.portal.pages.connections import relink_dynamics

    refused = (error_description or error or "no code")[:200] if error or not code else None
    exchange = partial(dynamics_side, code=code)
    return finish_flow(
        request, user, "dynamics", state, refused, exchange, relink_dynamics, dynamics_fields
    )


def dynamics_side(rt: Runtime, pending: dict[str, Any], code: str) -> dict[str, Any]:
    """The organisation the user picked on Microsoft's page, with the grant's refresh token."""
    found = pending["target"]
    target = oauth.EntraTarget(found["org_url"], found["authority"], found["tenant"])
    with oauth.http_client(rt.settings) as http:
        refresh, org_url = oauth.entra_exchange(
            rt.settings, http, target, code, pending["redirect_uri"], pending["verifier"]
        )
    return {
        "mode": "online",
        "org_url": org_url,
        "authority": target.authority,
        "tenant": target.tenant,
        "refresh_token": refresh,
    }


def dynamics_fields(side: dict[str, Any]) -> dict[str, Any]:
    return {"dynamics": side}


@router.post("/connections/new/{draft_id}/onprem")
def onprem_dynamics(
    request: Request,
    draft_id: str,
    fields: dict[str, str] = Depends(form_fields),
    user: User = Depends(signed_in),
) -> Response:
    """The on-prem tab: the organisation URL and an OAuth client (AD FS or Entra) with its
    secret; the tenant and authority, when not given, are the ones the organisation names."""
    rt = runtime(request)
    with rt.sessions.begin() as session:
        draft = users_draft(session, user, draft_id)
        errors, side = onprem_side(rt.settings, fields)
        if errors:
            kept = {k: v for k, v in fields.items() if k != "client_secret"}
            return draft_page(
                request, rt, draft, form=kept, errors=errors, tab="onprem", status=400
            )
        data = drafts.read(rt.box, draft)
        data["dynamics"] = side
        drafts.write(rt.box, draft, data)
        return redirect(draft_url(draft))


def onprem_side(
    settings: Settings, fields: dict[str, str]
) -> tuple[dict[str, str], dict[str, Any]]:
    errors: dict[str, str] = {}
    side: dict[str, Any] = {"mode": "onprem"}
    for name, what in (("client_id", "the client id"), ("client_secret", "its secret")):
        side[name] = fields.get(name, "")
        if not side[name]:
            errors[name] = f"Give {what} of the OAuth client registered for the organisation."
    try:
        side["org_url"] = organisation_url(fields.get("onprem_url", ""))
    except D365XeroError as exc:
        errors["onprem_url"] = str(exc)
    authority, tenant = fields.get("authority", ""), fields.get("tenant", "")
    if authority:
        try:
            authority = remote_url(authority, "The authority")
        except D365XeroError as exc:
            errors["authority"] = str(exc)
    if not errors and not (authority and tenant):
        try:
            with oauth.http_client(settings) as http:
                target = oauth.entra_target(settings, http, side["org_url"])
            authority, tenant = authority or target.authority, tenant or target.tenant
        except D365XeroError as exc:
            errors["onprem_url"] = str(exc)
    side["authority"], side["tenant"] = authority, tenant
    return errors, side


@router.post("/connections/new/{draft_id}/forget/{side}")
def forget_side(
    request: Request, draft_id: str, side: str, user: User = Depends(signed_in)
) -> Response:
    """Disconnect a side before the connection is made (revoking Xero's grant)."""
    if side not in ("xero", "dynamics"):
        raise HTTPException(404, "There is no such side.")
    rt = runtime(request)
    with rt.sessions.begin() as session:
        draft = users_draft(session, user, draft_id)
        data = drafts.read(rt.box, draft)
        gone = data.pop(side, None) or {}
        data.pop("found" if side == "dynamics" else "xero_choices", None)
        drafts.write(rt.box, draft, data)
    if side == "xero" and gone.get("refresh_token"):
        try:
            with oauth.http_client(rt.settings) as http:
                oauth.xero_disconnect(
                    rt.settings, http, gone["refresh_token"], gone.get("connection_id")
                )
        except D365XeroError:
            pass  # forgotten here either way; Xero lets the user remove it under Connected apps
    return redirect(f"/connections/new/{draft_id}")


# --- 3. Configure and Create Connection ---------------------------------------------------------


@router.post("/connections/new/{draft_id}/create")
def create_connection(
    request: Request,
    draft_id: str,
    fields: dict[str, str] = Depends(form_fields),
    user: User = Depends(signed_in),
) -> Response:
    rt = runtime(request)
    rotations: dict[str, str] = {}  # told by the check, kept by the draft if it fails
    with rt.sessions.begin() as session:
        draft = users_draft(session, user, draft_id)
        data = drafts.read(rt.box, draft)
        errors = configure_errors(fields, data)
        if errors:
            return draft_page(request, rt, draft, form=fields, errors=errors, status=400)
        try:
            new = new_connection_of(rt.settings, user, fields, data, rotations.__setitem__)
        except D365XeroError as exc:
            return draft_page(
                request, rt, draft, form=fields, errors={"_form": str(exc)}, status=400
            )
    try:
        connection, _ = add_connection(rt.settings, rt.sessions, rt.box, new)
    except D365XeroError as exc:
        message = str(exc)
        where = "name" if message.startswith("a connection named") else "_form"
        with rt.sessions.begin() as session:
            draft = users_draft(session, user, draft_id)
            keep_rotated(rt, draft, rotations)
            return draft_page(request, rt, draft, form=fields, errors={where: message}, status=400)
    with rt.sessions.begin() as session:
        session.delete(users_draft(session, user, draft_id))
    # Not registered: the dashboard says so (webhooks: not live); polling still syncs.
    with suppress(D365XeroError):
        ensure_dataverse_webhook(rt, connection.id)
    return redirect(f"/connections/{connection.id}")


def after_reconnect(rt: Runtime, response: Response, resumed: str | None) -> Response:
    """A resumed connection's Dynamics webhook is registered again (after the commit)."""
    if resumed:
        with suppress(D365XeroError):  # polling still syncs; the dashboard says so
            ensure_dataverse_webhook(rt, resumed)
    return response


def keep_rotated(rt: Runtime, draft: ConnectionDraft, rotations: dict[str, str]) -> None:
    """After a failed attempt: the draft keeps the refresh tokens rotated while checking (the
    ones it had no longer work once their grace is over)."""
    data = drafts.read(rt.box, draft)
    for key, value in rotations.items():
        side = data.get("xero" if key == XERO_REFRESH else "dynamics")
        if side:
            side["refresh_token"] = value
    drafts.write(rt.box, draft, data)


def configure_errors(fields: dict[str, str], data: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not data.get("xero"):
        errors["xero"] = "Connect to Xero first (step 1)."
    if not data.get("dynamics"):
        errors["dynamics"] = "Connect to Dynamics first (step 2)."
    name = fields.get("name", "")
    if not name:
        errors["name"] = "Give the connection a name."
    elif len(name) > 200:
        errors["name"] = "At most 200 characters."
    if fields.get("timezone") not in dict(timezones()):
        errors["timezone"] = "Pick a time zone from the list."
    if fields.get("plan") not in dict(PLANS):
        errors["plan"] = "Pick a plan from the list."
    return errors


def new_connection_of(
    settings: Settings, user: User, fields: dict[str, str], data: dict[str, Any], keep: Any
) -> NewConnection:
    xero, dynamics = data["xero"], data["dynamics"]
    xero_id, xero_secret = oauth.xero_app(settings)
    if dynamics["mode"] == "online":
        dataverse_id, dataverse_secret = oauth.entra_app(settings)
        refresh = dynamics["refresh_token"]
    else:
        dataverse_id, dataverse_secret, refresh = (
            dynamics["client_id"],
            dynamics["client_secret"],
            None,
        )
    return NewConnection(
        name=fields["name"],
        xero_url=settings.xero_url,
        xero_client_id=xero_id,
        xero_client_secret=xero_secret,
        xero_tenant_id=xero["tenant_id"],
        xero_refresh_token=xero["refresh_token"],
        xero_connection_id=xero["connection_id"],
        dataverse_url=dynamics["org_url"],
        dataverse_tenant=dynamics["tenant"],
        dataverse_authority=dynamics["authority"],
        dataverse_client_id=dataverse_id,
        dataverse_client_secret=dataverse_secret,
        dataverse_refresh_token=refresh,
        timezone=fields["timezone"],
        user_id=user.id,
        rotated=keep,
    )
