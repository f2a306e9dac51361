"""Billing: a connection's plan (the prices, the trial's countdown, Subscribe Now through Stripe
Checkout, cancelling) and the user's billing details ("Billing", Update Details).

A connection whose subscription ended, or whose renewal payment failed, stops syncing: its pages
say so in a banner (`billing_banner`, for any page that shows a connection)."""

from __future__ import annotations

from datetime import UTC, datetime

import stripe
import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from d365xero.billing.checkout import cancel_subscription, start_checkout, update_customer
from d365xero.domain.billing import parse_details
from d365xero.domain.plans import (
    PAID_STATUSES,
    PLANS,
    find_plan,
    plan_label,
    price_label,
    trial_countdown,
)
from d365xero.domain.subscription import TRIAL
from d365xero.portal.auth import signed_in
from d365xero.portal.http import db, form_fields
from d365xero.portal.owned import mine
from d365xero.portal.web import redirect, render
from d365xero.store import billing
from d365xero.store.connections import connection_entitlement
from d365xero.store.models import Connection, User

log = structlog.get_logger(__name__)
router = APIRouter()

NOT_CONFIGURED = "Subscriptions are not available here yet: billing is not configured."
ALREADY = "This connection is already subscribed: cancel the subscription first to change its plan."
UNSENT = (
    "Stripe could not be reached, so the details on your Stripe invoices are not updated yet: "
    "press Update Details again later."
)
UNREACHABLE = "Stripe could not be reached just now: nothing was charged. Try again shortly."


def _subscribed(session: Session, connection: Connection) -> bool:
    """Paid up on a live subscription: another Subscribe Now would charge twice."""
    latest = billing.latest_subscription(session, connection.id)
    return latest is not None and latest.status in PAID_STATUSES


def billing_banner(connection: Connection) -> tuple[str, str] | None:
    """("bad", why syncing stopped) for a connection its plan no longer entitles; None else."""
    entitled = connection_entitlement(connection)
    if entitled.active:
        return None
    return ("bad", f"Syncing is paused: {entitled.reason}.")


def _origin(request: Request) -> str:
    """Where Stripe sends the browser back: the public URL when one is set (behind a proxy),
    else the origin the browser used."""
    public = request.app.state.runtime.settings.public_url
    if public:
        return str(public).rstrip("/")
    return f"{request.url.scheme}://{request.url.netloc}"


def _plan_page(
    request: Request,
    session: Session,
    connection: Connection,
    *,
    notices: list[tuple[str, str]] | None = None,
    status: int = 200,
) -> Response:
    now = datetime.now(UTC)
    latest = billing.latest_subscription(session, connection.id)
    banner = billing_banner(connection)
    shown = [*([banner] if banner else []), *(notices or [])]
    return render(
        request,
        "billing/connection.html",
        {
            "connection": connection,
            "tab": "Billing",
            "notices": shown,
            "plan": plan_label(connection.plan),
            "on_trial": connection.plan == TRIAL,
            "countdown": trial_countdown(connection.trial_ends_at, now)
            if connection.plan == TRIAL
            else "",
            "entitlement": connection_entitlement(connection),
            "plans": [(p, plan_label(p.code), price_label(p)) for p in PLANS],
            "cancellable": latest is not None and latest.status not in ("canceled",),
            "subscribed": _subscribed(session, connection),
            "configured": request.app.state.stripe_client is not None,
        },
        status=status,
    )


@router.get("/connections/{connection_id}/billing")
def connection_billing(
    request: Request,
    connection: Connection = Depends(mine),
    session: Session = Depends(db, scope="function"),
) -> Response:
    notices = []
    if request.query_params.get("paid"):
        # The webhook, not this redirect, activates the plan: it may arrive a moment later.
        notices.append(("ok", "Thank you: your payment is being confirmed by Stripe."))
    if request.query_params.get("cancelled"):
        notices.append(("ok", "The subscription is cancelled."))
    return _plan_page(request, session, connection, notices=notices)


@router.post("/connections/{connection_id}/billing/subscribe")
def subscribe(
    request: Request,
    connection: Connection = Depends(mine),
    user: User = Depends(signed_in),
    session: Session = Depends(db, scope="function"),
    fields: dict[str, str] = Depends(form_fields),
) -> Response:
    plan = find_plan(fields.get("plan", ""))
    make = request.app.state.stripe_client
    if plan is None:
        notice = ("bad", "Choose one of the plans below.")
        return _plan_page(request, session, connection, notices=[notice], status=400)
    if make is None:
        return _plan_page(
            request, session, connection, notices=[("bad", NOT_CONFIGURED)], status=503
        )
    if _subscribed(session, connection):
        notice = ("bad", ALREADY)
        return _plan_page(request, session, connection, notices=[notice], status=409)
    page = f"{_origin(request)}/connections/{connection.id}/billing"
    try:
        checkout = start_checkout(
            make(),
            session,
            connection,
            plan.code,
            user_id=user.id,
            email=user.email,
            success_url=f"{page}?paid={{CHECKOUT_SESSION_ID}}",
            cancel_url=page,
        )
    except stripe.StripeError as exc:
        log.warning("checkout not started", connection=connection.id, error=type(exc).__name__)
        return _plan_page(request, session, connection, notices=[("bad", UNREACHABLE)], status=502)
    return redirect(checkout.url)


@router.post("/connections/{connection_id}/billing/cancel")
def cancel(
    request: Request,
    connection: Connection = Depends(mine),
    session: Session = Depends(db, scope="function"),
) -> Response:
    make = request.app.state.stripe_client
    if make is None:
        return _plan_page(
            request, session, connection, notices=[("bad", NOT_CONFIGURED)], status=503
        )
    try:
        cancelled = cancel_subscription(make(), session, connection)
    except stripe.StripeError as exc:
        log.warning("cancel failed", connection=connection.id, error=type(exc).__name__)
        return _plan_page(request, session, connection, notices=[("bad", UNREACHABLE)], status=502)
    if cancelled is None:
        notice = ("bad", "There is no subscription to cancel.")
        return _plan_page(request, session, connection, notices=[notice], status=400)
    return redirect(f"/connections/{connection.id}/billing?cancelled=1")


def _details_page(
    request: Request,
    form: dict[str, str],
    errors: dict[str, str] | None = None,
    notices: list[tuple[str, str]] | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "billing/details.html",
        {"form": form, "errors": errors or {}, "notices": notices or []},
        status=status,
    )


@router.get("/billing")
def details(
    request: Request,
    user: User = Depends(signed_in),
    session: Session = Depends(db, scope="function"),
) -> Response:
    form = billing.details_form(billing.get_details(session, user.id), user.email)
    notices = (
        [("ok", "Your billing details are saved.")] if request.query_params.get("saved") else []
    )
    if request.query_params.get("unsent"):
        notices.append(("warn", UNSENT))
    return _details_page(request, form, notices=notices)


@router.post("/billing")
def update_details(
    request: Request,
    user: User = Depends(signed_in),
    session: Session = Depends(db, scope="function"),
    fields: dict[str, str] = Depends(form_fields),
) -> Response:
    parsed, errors = parse_details(fields)
    if parsed is None:
        errors["_form"] = "Some details need a second look: see the messages by the fields."
        return _details_page(request, fields, errors, status=400)
    billing.save_details(session, user.id, parsed)
    make = request.app.state.stripe_client
    try:
        if make is not None:
            update_customer(make(), session, user.id, user.email)
    except stripe.StripeError as exc:
        log.warning("billing details not sent to Stripe", error=type(exc).__name__)
        return redirect("/billing?saved=1&unsent=1")
    return redirect("/billing?saved=1")
