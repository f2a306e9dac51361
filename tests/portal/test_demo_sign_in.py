"""`d365xero demo` signed in: its user is verified, and the printed link signs a browser in
at once, once."""

from __future__ import annotations

from d365xero.portal import auth
from d365xero.portal.demo_user import EMAIL, demo_user, sign_in_minutes, sign_in_url
from tests.portal.conftest import Portal


def test_the_printed_link_signs_the_demo_user_in_once(portal: Portal) -> None:
    with portal.runtime.sessions.begin() as session:
        user = demo_user(session)
        assert user.email == EMAIL and user.email_verified_at is not None
        assert demo_user(session).id == user.id  # made once
        url = sign_in_url(session, user, "http://127.0.0.1:8000/")
    assert url.startswith("http://127.0.0.1:8000/login/link/") and sign_in_minutes() == 30
    path = url.removeprefix("http://127.0.0.1:8000")
    client = portal.client()
    opened = client.get(path, headers={"accept": "text/html"})
    assert opened.status_code == 303 and opened.headers["location"] == "/"
    assert client.cookies.get(auth.COOKIE)
    account = client.get("/account", headers={"accept": "text/html"})
    assert account.status_code == 200 and EMAIL in account.text
    assert "Verify your email address" not in account.text  # no banner: verified
    assert portal.client().get(path).status_code == 400
