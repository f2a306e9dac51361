"""Accounts: Register, email verification, Login (with Remember Me), logout, Forgotten password?
and its reset, the account page (details and password), the outbox (no SMTP server) and the
demo's one-time sign-in link.

Strangers learn nothing of who has an account: registering an address that has one answers as
a new one does (and tells its owner by email), "Forgotten password?" answers the same for any
address, a wrong password and an unknown address cost the same argon2 time and the same
message, and the throttle counts failures for any address typed."""

from __future__ import annotations

from datetime import datetime
from ipaddress import ip_address

import structlog
from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from d365xero.domain import accounts as rules
from d365xero.portal import auth
from d365xero.portal.account_lists import breached_passwords, countries
from d365xero.portal.auth import current_user, safe_next, sign_in, sign_out, signed_in
from d365xero.portal.http import app_box, db, form_fields, runtime
from d365xero.portal.mailer import Mailer
from d365xero.portal.web import redirect, render
from d365xero.store import throttle, users
from d365xero.store.links import LIFETIME, Purpose, issue_link, peek_link, use_link
from d365xero.store.models import User, utcnow
from d365xero.store.outbox import Mail, outbox
from d365xero.store.sessions import end_session


def _later(request: Request, tasks: BackgroundTasks) -> None:
    """Where emails wait to go out by SMTP: after the response (see Mailer.send)."""
    request.state.later = tasks


# Every page knows who is signed in (the header, the banner), whether or not it needs a user.
router = APIRouter(dependencies=[Depends(current_user), Depends(_later)])
log = structlog.get_logger(__name__)
NAV = [("/connections", "Connections"), ("/account", "Account")]
PASSWORD_FIELDS = ("password", "confirm", "current")
GONE = "This link has expired or has already been used."


def _mailer(request: Request) -> Mailer:
    return Mailer(runtime(request).settings, app_box(request))


def _link(request: Request, path: str) -> str:
    """An absolute link for an email. With SMTP, the configured public address: the request's
    Host header is the sender's to choose, and a reset link must not point elsewhere."""
    public = runtime(request).settings.public_url
    if public:
        return public.rstrip("/") + path
    if not _mailer(request).uses_outbox:
        raise HTTPException(
            503,
            "This portal sends email but does not know its own address: set D365XERO_PUBLIC_URL.",
        )
    return str(request.base_url).rstrip("/") + path


def _kept(fields: dict[str, str]) -> dict[str, str]:
    """What was typed, to show again: never a password."""
    return {k: v for k, v in fields.items() if k not in PASSWORD_FIELDS}


def _invalid(
    request: Request,
    template: str,
    fields: dict[str, str],
    errors: dict[str, str],
    status: int = 400,
    **more: object,
) -> Response:
    context = {"form": _kept(fields), "errors": errors, "countries": countries(), **more}
    return render(request, template, context, status=status)


def _profile(fields: dict[str, str]) -> users.Profile:
    return users.Profile(
        fields.get("first_name", ""),
        fields.get("last_name", ""),
        fields.get("company", ""),
        fields.get("company_phone", ""),
        fields.get("country", ""),
    )


def _hours(purpose: Purpose) -> str:
    seconds = LIFETIME[purpose].total_seconds()
    return f"{seconds / 3600:.0f} hours" if seconds >= 7200 else f"{seconds / 60:.0f} minutes"


def _deliver(request: Request, session: Session, mail: Mail) -> None:
    """Send, unless the recipient has had enough emails for now (then nothing is sent, and
    the page says what it always says)."""
    if not throttle.take_mail(session, mail.to, _address(request)):
        log.info("mail.held_back", to=mail.to, subject=mail.subject)
        return
    _mailer(request).send(session, mail, request.state.later)


def _send_link(request: Request, session: Session, user: User, purpose: Purpose) -> None:
    if not throttle.take_mail(session, user.email, _address(request)):
        # No new link either: it would void the one already sent.
        log.info("mail.held_back", to=user.email, purpose=purpose.value)
        return
    token = issue_link(session, user, purpose)
    path = {Purpose.verify: "/verify/", Purpose.reset: "/reset/"}[purpose] + token
    link = _link(request, path)
    if purpose is Purpose.verify:
        subject = "Verify your email address"
        body = (
            f"Hello {user.first_name or user.email},\n\nOpen this link to verify the email "
            f"address of your d365xero account:\n\n{link}\n\nIt works once, for "
            f"{_hours(purpose)}. If you did not register, ignore this message.\n"
        )
    else:
        subject = "Reset your password"
        body = (
            f"Hello {user.first_name or user.email},\n\nSomeone (we hope you) asked to reset "
            f"the password of your d365xero account. Open this link to choose a new one:\n\n"
            f"{link}\n\nIt works once, for {_hours(purpose)}. If it was not you, ignore this "
            "message: your password stays as it is.\n"
        )
    _mailer(request).send(session, Mail(user.email, subject, body, link), request.state.later)


def _too_many_mails(
    request: Request, session: Session, template: str, fields: dict[str, str]
) -> Response | None:
    """A 429 page if this client address asked for too many emails lately."""
    until = throttle.sender_wait(session, _address(request))
    if until is None:
        return None
    wait = max(1, round((until - utcnow()).total_seconds()))
    message = f"Too many emails asked for from your network: try again after {until:%H:%M} UTC."
    response = _invalid(request, template, fields, {"_form": message}, 429)
    response.headers["Retry-After"] = str(wait)
    return response


def _check_email(request: Request, email: str, what: str) -> Response:
    return render(
        request,
        "accounts/check_email.html",
        {"email": email, "what": what, "outbox": _mailer(request).uses_outbox},
    )


# Register ------------------------------------------------------------------------------------


@router.get("/register")
def register_page(request: Request) -> Response:
    return render(request, "accounts/register.html", {"countries": countries()})


@router.post("/register")
def register(
    request: Request,
    fields: dict[str, str] = Depends(form_fields),
    session: Session = Depends(db, scope="function"),
) -> Response:
    errors = rules.register_errors(fields, countries(), breached_passwords())
    if errors:
        return _invalid(request, "accounts/register.html", fields, errors)
    held = _too_many_mails(request, session, "accounts/register.html", fields)
    if held:
        return held
    email = fields["email"].lower()
    existing = users.get_user_by_email(session, email)
    what = "to verify your address; then log in"
    if existing is not None:
        users.hash_cost(fields["password"])  # the same time as making an account
        mail = Mail(
            email,
            "Someone tried to register with your address",
            "Someone (perhaps you) tried to register a d365xero account with this address, "
            "which already has one. To get in, log in or use Forgotten password? on the "
            f"login page: {_link(request, '/forgot')}\nIf it was not you, ignore this message.\n",
            _link(request, "/forgot"),
        )
        _deliver(request, session, mail)
        return _check_email(request, email, what)
    user = users.create_user(session, email, fields["password"], _profile(fields))
    log.info("account.registered", user_id=user.id)
    _send_link(request, session, user, Purpose.verify)
    return _check_email(request, email, what)


# Verification --------------------------------------------------------------------------------


@router.get("/verify/{token}")
def verify(
    request: Request, token: str, session: Session = Depends(db, scope="function")
) -> Response:
    user = use_link(session, token, Purpose.verify)
    if user is None:
        message = f"{GONE} Log in, and use Send it again at the top of the page for a new one."
        return _message(request, "Link expired", message, 400)
    users.mark_verified(user)
    viewer = getattr(request.state, "user", None)
    if viewer is not None and viewer.id == user.id:  # this browser is theirs: the banner goes
        request.state.user = auth.Viewer.of(user)
    log.info("account.verified", user_id=user.id)
    return _message(
        request, "Email address verified", "Your email address is verified.", 200, kind="ok"
    )


@router.post("/verify/resend")
def resend(
    request: Request,
    user: User = Depends(signed_in),
    session: Session = Depends(db, scope="function"),
) -> Response:
    if user.email_verified_at is not None:
        return redirect("/account")
    _send_link(request, session, user, Purpose.verify)
    return _check_email(request, user.email, "to verify your address")


def _message(
    request: Request, title: str, message: str, status: int, kind: str = "bad"
) -> Response:
    context = {"title": title, "message": message, "kind": kind, "nav_links": NAV}
    return render(request, "accounts/message.html", context, status=status)


# Login and logout ----------------------------------------------------------------------------

DONE = {
    "reset": "Your password is changed and every session ended: log in with the new one.",
    "out": "You are logged out.",
}


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/login")
def login_page(request: Request, next: str = "", done: str = "") -> Response:
    notices = [("ok", DONE[done])] if done in DONE else []
    return render(request, "accounts/login.html", {"next": safe_next(next, ""), "notices": notices})


def _throttled(request: Request, fields: dict[str, str], until: datetime) -> Response:
    wait = max(1, round((until - utcnow()).total_seconds()))
    message = (
        f"Too many failed logins: try again after {until:%H:%M} UTC "
        f"(in {max(1, round(wait / 60))} minutes), or use Forgotten password?."
    )
    response = _invalid(
        request,
        "accounts/login.html",
        fields,
        {"_form": message},
        429,
        next=safe_next(fields.get("next"), ""),
    )
    response.headers["Retry-After"] = str(wait)
    return response


@router.post("/login")
def login(
    request: Request,
    fields: dict[str, str] = Depends(form_fields),
    session: Session = Depends(db, scope="function"),
) -> Response:
    target = safe_next(fields.get("next"), "")
    errors = rules.login_errors(fields)
    if errors:
        return _invalid(request, "accounts/login.html", fields, errors, next=target)
    email, address = fields["email"], _address(request)
    until = throttle.login_wait(session, email, address)
    if until is not None:
        log.info("login.throttled")
        return _throttled(request, fields, until)
    user = users.authenticate(session, email, fields["password"])
    if user is None:
        throttle.record_failure(session, email, address)
        wrong = {"_form": "The email address or password is not right."}
        return _invalid(request, "accounts/login.html", fields, wrong, next=target)
    throttle.clear_account(session, email)
    return _signed_in(
        request, session, user, target or "/", remember=fields.get("remember") == "on"
    )


def _signed_in(
    request: Request, session: Session, user: User, target: str, *, remember: bool
) -> Response:
    """A new session token at every sign-in (never the one the browser came with: no session
    fixation); the browser's old session, if any, ends."""
    response = redirect(target)
    old = request.cookies.get(auth.COOKIE)
    if old:
        end_session(session, old)
    sign_in(request, response, session, user, remember=remember)
    log.info("login.ok", user_id=user.id, remember=remember)
    return response


@router.post("/logout")
def logout(request: Request, session: Session = Depends(db, scope="function")) -> Response:
    response = redirect("/login?done=out")
    sign_out(request, response, session)
    return response


@router.get("/login/link/{token}")
def login_link(
    request: Request, token: str, session: Session = Depends(db, scope="function")
) -> Response:
    """The demo's sign-in link: opened, it signs the browser in at once (once)."""
    user = use_link(session, token, Purpose.login)
    if user is None:
        message = f"{GONE} Log in with the email address and password d365xero demo printed."
        return _message(request, "Link expired", message, 400)
    return _signed_in(request, session, user, "/", remember=False)


# Forgotten password? -------------------------------------------------------------------------


@router.get("/forgot")
def forgot_page(request: Request) -> Response:
    return render(request, "accounts/forgot.html")


@router.post("/forgot")
def forgot(
    request: Request,
    fields: dict[str, str] = Depends(form_fields),
    session: Session = Depends(db, scope="function"),
) -> Response:
    email = fields.get("email", "")
    problem = rules.email_problem(email)
    if problem:
        return _invalid(request, "accounts/forgot.html", fields, {"email": problem})
    held = _too_many_mails(request, session, "accounts/forgot.html", fields)
    if held:
        return held
    user = users.get_user_by_email(session, email)
    if user is None:  # counted all the same: the limits must not tell who has an account
        throttle.take_mail(session, email, _address(request))
    else:
        _send_link(request, session, user, Purpose.reset)
    return _check_email(request, email.lower(), "to reset your password, if it has an account")


@router.get("/reset/{token}")
def reset_page(
    request: Request, token: str, session: Session = Depends(db, scope="function")
) -> Response:
    if peek_link(session, token, Purpose.reset) is None:
        return _message(request, "Link expired", f"{GONE} Use Forgotten password? again.", 400)
    return render(request, "accounts/reset.html", {"token": token})


@router.post("/reset/{token}")
def reset(
    request: Request,
    token: str,
    fields: dict[str, str] = Depends(form_fields),
    session: Session = Depends(db, scope="function"),
) -> Response:
    user = peek_link(session, token, Purpose.reset)
    if user is None:
        return _message(request, "Link expired", f"{GONE} Use Forgotten password? again.", 400)
    errors = rules.new_password_errors(fields, breached_passwords(), _personal(user))
    if errors:
        return _invalid(request, "accounts/reset.html", fields, errors, token=token)
    if use_link(session, token, Purpose.reset) is None:  # used by another request meanwhile
        return _message(request, "Link expired", f"{GONE} Use Forgotten password? again.", 400)
    ended = users.change_password(session, user, fields["password"])
    users.mark_verified(user)  # the link reached the address: it is theirs
    log.info("account.password_reset", user_id=user.id, sessions_ended=ended)
    response = redirect("/login?done=reset")
    sign_out(request, response, session)
    return response


def _personal(user: User) -> list[str]:
    return rules.personal_details(
        {"email": user.email, "first_name": user.first_name, "last_name": user.last_name}
    )


# The account page ----------------------------------------------------------------------------


def _account(request: Request, user: User, status: int = 200, **more: object) -> Response:
    profile = users.profile_of(user)
    form = {"email": user.email, **profile.__dict__}
    context = {"form": form, "countries": countries(), "nav_links": NAV, **more}
    return render(request, "accounts/account.html", context, status=status)


@router.get("/account")
def account_page(request: Request, user: User = Depends(signed_in)) -> Response:
    return _account(request, user)


@router.post("/account")
def update_account(
    request: Request,
    fields: dict[str, str] = Depends(form_fields),
    user: User = Depends(signed_in),
    session: Session = Depends(db, scope="function"),
) -> Response:
    errors = rules.profile_errors(fields, countries())
    new_email = fields.get("email", "").lower()
    if not errors and new_email != user.email and users.get_user_by_email(session, new_email):
        errors["email"] = "This email address cannot be used: choose another."
    if errors:
        context = {
            "form": _kept(fields),
            "errors": errors,
            "countries": countries(),
            "nav_links": NAV,
        }
        return render(request, "accounts/account.html", context, status=400)
    users.set_profile(user, _profile(fields))
    notices = [("ok", "Your details are saved.")]
    if new_email != user.email:
        users.change_email(session, user, new_email)
        request.state.user = auth.Viewer.of(user)
        _send_link(request, session, user, Purpose.verify)
        notices.append(("warn", f"We sent a link to {new_email} to verify it."))
    return _account(request, user, notices=notices)


@router.post("/account/password")
def change_password(
    request: Request,
    fields: dict[str, str] = Depends(form_fields),
    user: User = Depends(signed_in),
    session: Session = Depends(db, scope="function"),
) -> Response:
    address = _address(request)
    until = throttle.login_wait(session, user.email, address)
    if until is not None:
        message = f"Too many wrong passwords: try again after {until:%H:%M} UTC."
        return _account(request, user, 429, errors={"current": message})
    if not users.verify_password(user, fields.get("current", "")):
        throttle.record_failure(session, user.email, address)
        return _account(
            request, user, 400, errors={"current": "This is not your current password."}
        )
    errors = rules.new_password_errors(fields, breached_passwords(), _personal(user))
    if errors:
        return _account(request, user, 400, errors=errors)
    ended = users.change_password(
        session, user, fields["password"], keep=request.cookies.get(auth.COOKIE)
    )
    log.info("account.password_changed", user_id=user.id, sessions_ended=ended)
    notice = f"Your password is changed. Sessions ended elsewhere: {ended}."
    return _account(request, user, notices=[("ok", notice)])


# The outbox ----------------------------------------------------------------------------------


def _loopback(request: Request) -> bool:
    """From this machine, to this machine: the client's address and the name it asked for
    are both loopback. The name too, because behind a reverse proxy on this machine that
    forwards no X-Forwarded-For every client would seem to be 127.0.0.1; the public name it
    forwards in Host is not loopback."""
    host = (request.url.hostname or "").strip("[]")
    try:
        return ip_address(_address(request)).is_loopback and (
            host == "localhost" or ip_address(host).is_loopback
        )
    except ValueError:
        return False


@router.get("/outbox")
def outbox_page(request: Request, session: Session = Depends(db, scope="function")) -> Response:
    """The emails of a portal with no SMTP server. Their links reset passwords: shown only
    to a browser on this machine (the demo's, an embedded install's), never across a network."""
    if not _mailer(request).uses_outbox:
        raise HTTPException(404, "There is no outbox: this portal sends its emails by SMTP.")
    if not _loopback(request):
        raise HTTPException(404, "The outbox opens only in a browser on the portal's own machine.")
    return render(request, "accounts/outbox.html", {"mails": outbox(session, app_box(request))})
