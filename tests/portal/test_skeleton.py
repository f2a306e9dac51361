"""What every portal page has: the session cookie, CSRF on unsafe requests, the security
headers, escaping, error pages instead of tracebacks, and another user's things as 404."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from d365xero.portal.auth import safe_next, signed_in
from d365xero.portal.owned import owned_connection
from d365xero.portal.web import render
from d365xero.store.models import User
from d365xero.store.sessions import revoke_sessions
from tests.portal.conftest import Portal, csrf_token

HTML = {"accept": "text/html"}


def test_the_front_door_serves_with_the_security_headers(portal: Portal) -> None:
    page = portal.client().get("/", headers=HTML)
    assert page.status_code == 200 and "Register" in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in page.headers  # plain HTTP: HSTS means nothing
    cookie = page.headers["set-cookie"]
    assert "d365xero_csrf=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert '<script src="http://testserver/static/htmx.min.js"' in page.text
    assert portal.client().get("/static/htmx.min.js").status_code == 200


def test_hsts_and_secure_cookies_over_tls(portal: Portal) -> None:
    client = portal.client()
    client.base_url = "https://testserver"  # type: ignore[assignment]
    page = client.get("/", headers=HTML)
    assert page.headers["strict-transport-security"].startswith("max-age=")
    assert "Secure" in page.headers["set-cookie"]


def _probe_router() -> APIRouter:
    """A page of the kind every area adds: signed in, a form, another user's id."""
    router = APIRouter()

    @router.post("/_probe/{connection_id}")
    def probe(request: Request, connection_id: str, user: User = Depends(signed_in)) -> Response:
        from d365xero.portal.http import runtime

        with runtime(request).sessions.begin() as session:
            found = owned_connection(session, user, connection_id)
            return render(request, "error.html", {"title": "ok", "message": found.name})

    return router


@pytest.fixture
def probed(portal: Portal) -> Portal:
    from d365xero.portal import csrf

    portal.app.include_router(_probe_router(), dependencies=[Depends(csrf.require)])
    return portal


def _connection(portal: Portal, user: User, name: str) -> str:
    from d365xero.store.models import Connection

    with portal.runtime.sessions.begin() as session:
        made = Connection(name=name, user_id=user.id, secrets=portal.runtime.box.seal({}))
        session.add(made)
        session.flush()
        return made.id


def test_forms_need_the_browsers_own_csrf_token(probed: Portal) -> None:
    client, ada = probed.signed_in_client()
    mine = _connection(probed, ada, "Ada's <b>books</b>")
    token = csrf_token(client)
    done = client.post(f"/_probe/{mine}", data={"csrf_token": token}, headers=HTML)
    assert done.status_code == 200, done.text
    assert "Ada&#39;s &lt;b&gt;books&lt;/b&gt;" in done.text  # escaped, never markup
    assert client.post(f"/_probe/{mine}", headers={"x-csrf-token": token}).status_code == 200
    for bad in ({}, {"csrf_token": "forged"}, {"csrf_token": token + "x"}):
        refused = client.post(f"/_probe/{mine}", data=bad, headers=HTML)
        assert refused.status_code == 403 and "reload the page" in refused.text
    # Another browser's token is no good with this browser's cookie.
    other, _ = probed.signed_in_client("bob@example.com")
    their = csrf_token(other)
    assert client.post(f"/_probe/{mine}", data={"csrf_token": their}).status_code == 403


def test_another_users_connection_is_not_found(probed: Portal) -> None:
    _, ada = probed.signed_in_client()
    bob_client, _ = probed.signed_in_client("bob@example.com")
    adas = _connection(probed, ada, "Ada")
    token = csrf_token(bob_client)
    answer = bob_client.post(f"/_probe/{adas}", data={"csrf_token": token}, headers=HTML)
    assert answer.status_code == 404 and "no such connection" in answer.text
    assert "Ada" not in answer.text.split("<main", 1)[1]
    long_id = bob_client.post(f"/_probe/{'x' * 5000}", data={"csrf_token": token})
    assert long_id.status_code == 404


def test_signed_out_goes_to_login_and_comes_back(probed: Portal) -> None:
    client = probed.client()
    token = csrf_token(client)
    answer = client.post("/_probe/abc", data={"csrf_token": token})
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=/_probe/abc"
    htmx = client.post("/_probe/abc", headers={"x-csrf-token": token, "hx-request": "true"})
    assert htmx.headers["hx-redirect"] == "/login?next=/_probe/abc"


def test_revoked_and_expired_sessions_sign_no_one_in(probed: Portal) -> None:
    client, ada = probed.signed_in_client()
    mine = _connection(probed, ada, "Ada")
    token = csrf_token(client)
    assert client.post(f"/_probe/{mine}", data={"csrf_token": token}).status_code == 200
    with probed.runtime.sessions.begin() as session:
        assert revoke_sessions(session, ada.id) == 1
    assert client.post(f"/_probe/{mine}", data={"csrf_token": token}).status_code == 303


def test_redirect_targets_stay_on_this_site() -> None:
    assert safe_next("/connections?x=1") == "/connections?x=1"
    for bad in ("//evil.example", "https://evil.example", "/\\evil", "", None, "/a\nb", "x"):
        assert safe_next(bad) == "/"


def test_errors_are_pages_not_tracebacks(portal: Portal) -> None:
    client = portal.client()
    missing = client.get("/no/such/page", headers=HTML)
    assert missing.status_code == 404 and "Not found" in missing.text
    assert client.get("/no/such/page").json() == {"detail": "Not Found"}
    assert client.post("/", headers=HTML).status_code in (403, 405)
