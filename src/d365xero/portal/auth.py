"""Who is signed in: the session cookie, looked up in the store on each request. `signed_in` is
the dependency of every page that needs a user (signed out, it sends the browser to the login
page and back); `sign_in` and `sign_out` set and clear the cookie."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, Response
from sqlalchemy.orm import Session

from d365xero.portal.http import db, secure_request
from d365xero.store.models import User
from d365xero.store.sessions import end_session, session_user, start_session

COOKIE = "d365xero_session"
LOGIN = "/login"


@dataclass(frozen=True)
class Viewer:
    """Who the templates say is signed in: plain values, still readable in an error page
    rendered after the request's store session has rolled back."""

    id: str
    email: str
    verified: bool = True

    @classmethod
    def of(cls, user: User) -> Viewer:
        return cls(id=user.id, email=user.email, verified=user.email_verified_at is not None)


class SignInRequired(Exception):
    """Raised by `signed_in`; the app answers with a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path

    def login_url(self) -> str:
        return f"{LOGIN}?next={quote(self.next_path, safe='/')}"


def current_user(request: Request, session: Session = Depends(db, scope="function")) -> User | None:
    """The signed-in user or None (request.state.user: a Viewer of them, for the templates)."""
    token = request.cookies.get(COOKIE, "")
    user = session_user(session, token) if token else None
    request.state.user = Viewer.of(user) if user else None
    return user


def signed_in(request: Request, user: User | None = Depends(current_user)) -> User:
    if user is None:
        raise SignInRequired(safe_next(request.url.path))
    return user


def verified(user: User = Depends(signed_in)) -> User:
    """A signed-in user whose e-mail address is verified: needed to create connections (an
    unverified one can sign in and look around; the banner says how to verify)."""
    if user.email_verified_at is None:
        raise HTTPException(
            403,
            "Verify your email address before you create a connection: open the link we sent "
            "you, or use Send it again at the top of the page.",
        )
    return user


def safe_next(target: str | None, default: str = "/") -> str:
    """A redirect target that stays on this site: a path, never `//host` or `scheme:`."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(c) < 32 for c in target):
        return default
    return target


def sign_in(
    request: Request, response: Response, session: Session, user: User, *, remember: bool
) -> None:
    token, expires = start_session(session, user, remember=remember)
    response.set_cookie(
        COOKIE,
        token,
        # Without Remember Me, a browser-session cookie: gone when the browser closes.
        expires=expires if remember else None,
        httponly=True,
        samesite="lax",
        secure=secure_request(request),
        path="/",
    )
    request.state.user = Viewer.of(user)


def sign_out(request: Request, response: Response, session: Session) -> None:
    token = request.cookies.get(COOKIE)
    if token:
        end_session(session, token)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
    request.state.user = None
