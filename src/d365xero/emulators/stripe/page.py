"""The hosted checkout page a Checkout Session's `url` opens (`/checkout/{session}`): the
product, its price on the button ("£5.00 per day", as the user guide shows Stripe's page), the
e-mail, Card number, MM / YY and CVC. Paying completes the session and redirects to its
`success_url` ({CHECKOUT_SESSION_ID} filled in, docs.stripe.com/payments/checkout/
custom-success-page); a declined card or a wrong field says so on the page. Real Checkout is a
script-driven page; this one is a plain form, so it works without JavaScript."""

from __future__ import annotations

from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from d365xero.emulators.stripe.errors import CardError, StripeError
from d365xero.emulators.stripe.form import decode
from d365xero.emulators.stripe.models import StripeBackend, check_card

SYMBOLS = {"gbp": "£", "usd": "$", "eur": "€"}


def amount_label(currency: str, amount: int) -> str:
    symbol = SYMBOLS.get(currency)
    text = f"{amount / 100:,.2f}"
    return f"{symbol}{text}" if symbol else f"{text} {currency.upper()}"


def price_label(price: dict[str, Any], quantity: int = 1) -> str:
    amount = amount_label(price["currency"], price["unit_amount"] * quantity)
    recurring = price["recurring"]
    if recurring["interval_count"] == 1:
        return f"{amount} per {recurring['interval']}"
    return f"{amount} every {recurring['interval_count']} {recurring['interval']}s"


def _page(backend: StripeBackend, session: dict[str, Any], form: dict[str, str], error: str) -> str:
    (price, quantity), *_ = backend.line_prices(session)
    customer = backend.customers.get(session["customer"] or "")
    email = form.get("email") or session["customer_email"] or (customer or {}).get("email") or ""
    status = session["status"]
    fields = "".join(
        f'<p><label for="{name}">{label}</label><br>'
        f'<input id="{name}" name="{name}" value="{escape(form.get(name, ""))}" '
        f'autocomplete="{auto}" required></p>'
        for name, label, auto in (
            ("card", "Card number", "cc-number"),
            ("expiry", "MM / YY", "cc-exp"),
            ("cvc", "CVC", "cc-csc"),
        )
    )
    alert = f'<p role="alert" id="error">{escape(error)}</p>' if error else ""
    body = (
        f"<p>This Checkout Session is {escape(status)}.</p>"
        if status != "open"
        else f'<form method="post">{alert}'
        f'<p><label for="email">Email</label><br><input id="email" name="email" type="email" '
        f'value="{escape(email)}" required></p>{fields}'
        f'<button type="submit">{escape(price_label(price, quantity))}</button></form>'
    )
    back = (
        f'<p><a href="{escape(session["cancel_url"])}">Back</a></p>'
        if session["cancel_url"]
        else ""
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Checkout</title>'
        "</head><body><main><h1>d365xero</h1>"
        f"<h2>Subscribe to: {escape(backend.product_name(price))}</h2>{body}{back}"
        "</main></body></html>"
    )


def _success_url(session: dict[str, Any]) -> str:
    return str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", session["id"])


def page_routes(backend: StripeBackend) -> list[Route]:
    async def checkout(request: Request) -> Response:
        session_id = request.path_params["session"]
        try:
            session = backend.session(session_id)
        except StripeError:
            return HTMLResponse("<!doctype html><p>Something went wrong.</p>", status_code=404)
        if request.method == "GET":
            return HTMLResponse(_page(backend, session, {}, ""))
        form = {k: str(v) for k, v in decode(await request.body()).items()}
        try:
            card = check_card(
                form.get("card", ""),
                form.get("expiry", ""),
                form.get("cvc", ""),
                backend.clock.now(),
            )
            session = backend.pay(session_id, form.get("email", "").strip(), card)
        except CardError as exc:
            return HTMLResponse(_page(backend, session, form, exc.message), status_code=402)
        except StripeError as exc:
            return HTMLResponse(_page(backend, session, form, exc.message), status_code=400)
        return RedirectResponse(_success_url(session), status_code=303)

    return [Route("/checkout/{session}", checkout, methods=["GET", "POST"])]
