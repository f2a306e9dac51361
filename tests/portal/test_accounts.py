"""Accounts through the real app and store: register -> outbox -> verify -> login -> logout,
Forgotten password? -> reset -> every session ended, the account page, the throttle shared by
two apps on one store, links and sessions that expire (the clock moved by `now`), CSRF, and
no password or token in the logs."""

from __future__ import annotations

import re
import socket
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi import APIRouter, Depends
from starlette.testclient import TestClient

from d365xero.portal import auth, csrf
from d365xero.store import throttle
from d365xero.store.links import Purpose, issue_link
from d365xero.store.models import PortalSession, User, utcnow
from d365xero.store.sessions import session_user, start_session
from d365xero.store.users import get_user_by_email
from tests.portal.conftest import PASSWORD, Portal, csrf_token, make_portal

HTML = {"accept": "text/html"}
NEW_PASSWORD = "plum granite orbit lantern 7"
LOCAL = "127.0.0.1"
REGISTER = {
    "first_name": "Grace",
    "last_name": "Hopper",
    "email": "Grace@Example.com",
    "company": "Cobol & Co",
    "company_phone": "+1 202 555 0143",
    "country": "US",
    "password": PASSWORD,
    "confirm": PASSWORD,
}
_LINK = re.compile(r'class="button" href="http://[^/"]+(/[^"]+)"')


def _post(client: TestClient, path: str, data: dict[str, str], page: str | None = None):  # type: ignore[no-untyped-def]
    token = csrf_token(client, page or path.rsplit("/", 1)[0] or "/")
    return client.post(path, data={**data, "csrf_token": token}, headers=HTML)


def _outbox_links(portal: Portal) -> list[str]:
    """The links in the outbox, newest first, as a browser on this machine reads them."""
    page = portal.client(LOCAL).get("/outbox", headers=HTML)
    assert page.status_code == 200, page.text
    return _LINK.findall(page.text)


def _signed_in_as(client: TestClient) -> str | None:
    page = client.get("/register", headers=HTML)
    found = re.search(r'<li class="who"><a href="/account">([^<]+)</a>', page.text)
    return found.group(1) if found else None


def _login(client: TestClient, email: str, password: str, **more: str):  # type: ignore[no-untyped-def]
    return _post(client, "/login", {"email": email, "password": password, **more}, "/login")


def test_register_verify_login_logout(portal: Portal) -> None:
    client = portal.client()
    done = _post(client, "/register", REGISTER, "/register")
    assert done.status_code == 200 and "Check your email" in done.text
    assert "grace@example.com" in done.text and 'href="/outbox"' in done.text
    with portal.runtime.sessions() as session:
        grace = get_user_by_email(session, "grace@example.com")
        assert grace is not None and grace.email_verified_at is None
        assert (grace.first_name, grace.company, grace.country) == ("Grace", "Cobol & Co", "US")
    verify = _outbox_links(portal)[0]
    assert verify.startswith("/verify/")

    # Unverified: may log in, sees the banner, cannot create connections.
    assert _login(client, "grace@example.com", PASSWORD).status_code == 303
    page = client.get("/account", headers=HTML)
    assert "Verify your email address" in page.text and "cannot create connections" in page.text

    verified = client.get(verify, headers=HTML)
    assert verified.status_code == 200 and "Your email address is verified" in verified.text
    assert "Verify your email address" not in verified.text
    again = client.get(verify, headers=HTML)  # once only
    assert again.status_code == 400 and "expired or has already been used" in again.text

    out = _post(client, "/logout", {}, "/account")
    assert out.status_code == 303 and out.headers["location"] == "/login?done=out"
    assert client.get("/account").headers["location"] == "/login?next=/account"


def test_register_keeps_what_was_typed_and_puts_errors_beside_fields(portal: Portal) -> None:
    client = portal.client()
    bad = {**REGISTER, "email": "grace@", "company_phone": "call me", "country": "ZZ"}
    bad |= {"password": "password123456", "confirm": "password123456"}
    page = _post(client, "/register", bad, "/register")
    assert page.status_code == 400
    for field, says in (
        ("email", "like name@example.com"),
        ("company_phone", "digits, spaces"),
        ("country", "Choose your country"),
        ("password", "most common"),
    ):
        assert re.search(f'id="e-{field}">[^<]*{says}', page.text), field
    assert 'value="Cobol &amp; Co"' in page.text and 'value="call me"' in page.text
    assert "password123456" not in page.text  # a password is never sent back
    mismatch = _post(client, "/register", {**REGISTER, "confirm": "something else"}, "/register")
    assert mismatch.status_code == 400 and "not the same" in mismatch.text
    assert PASSWORD not in mismatch.text
    with portal.runtime.sessions() as session:
        assert get_user_by_email(session, "grace@example.com") is None


def test_a_taken_address_is_not_confirmed_to_strangers(portal: Portal) -> None:
    portal.user("grace@example.com")
    first = _post(portal.client(), "/register", REGISTER, "/register")
    fresh = _post(
        portal.client(), "/register", {**REGISTER, "email": "new@example.com"}, "/register"
    )
    assert first.status_code == fresh.status_code == 200
    tokens = re.compile(r'value="[^"]+"|"X-CSRF-Token": "[^"]+"')
    same = tokens.sub("", first.text).replace("grace@example.com", "X")
    assert same == tokens.sub("", fresh.text).replace("new@example.com", "X")
    page = portal.client(LOCAL).get("/outbox", headers=HTML).text
    assert "Someone tried to register with your address" in page  # told by email instead


def test_forgotten_password_resets_and_ends_every_session(portal: Portal) -> None:
    ada = portal.user("ada@example.com")
    elsewhere = portal.client()
    portal.sign_in(elsewhere, ada, remember=True)
    assert _signed_in_as(elsewhere) == "ada@example.com"

    client = portal.client()
    for email in ("ada@example.com", "nobody@example.com"):  # the same answer for both
        asked = _post(client, "/forgot", {"email": email}, "/forgot")
        assert asked.status_code == 200 and "if it has an account" in asked.text
    bad = _post(client, "/forgot", {"email": "not an address"}, "/forgot")
    assert bad.status_code == 400 and 'id="e-email"' in bad.text
    links = _outbox_links(portal)
    assert len(links) == 1 and links[0].startswith("/reset/")
    reset = links[0]

    weak = _post(client, reset, {"password": "qwerty123456", "confirm": "qwerty123456"}, reset)
    assert weak.status_code == 400 and "most common" in weak.text
    done = _post(client, reset, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, reset)
    assert done.status_code == 303 and done.headers["location"] == "/login?done=reset"
    assert _signed_in_as(elsewhere) is None  # the remembered session ended too
    used = _post(client, reset, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, "/forgot")
    assert used.status_code == 400 and "already been used" in used.text
    assert client.get(reset, headers=HTML).status_code == 400

    assert _login(client, "ada@example.com", PASSWORD).status_code == 400
    assert _login(client, "ada@example.com", NEW_PASSWORD).status_code == 303
    with portal.runtime.sessions() as session:
        user = get_user_by_email(session, "ada@example.com")
        assert user is not None and user.email_verified_at is not None  # the link proved it


def test_links_expire(portal: Portal) -> None:
    ada = portal.user("ada@example.com")
    with portal.runtime.sessions.begin() as session:
        user = session.get(User, ada.id)
        assert user is not None
        long_ago = utcnow() - timedelta(hours=48, seconds=1)
        verify = issue_link(session, user, Purpose.verify, now=long_ago)
        reset = issue_link(session, user, Purpose.reset, now=utcnow() - timedelta(minutes=61))
        login = issue_link(session, user, Purpose.login, now=utcnow() - timedelta(minutes=31))
    client = portal.client()
    assert client.get(f"/verify/{verify}", headers=HTML).status_code == 400
    assert client.get(f"/reset/{reset}", headers=HTML).status_code == 400
    assert client.get(f"/login/link/{login}", headers=HTML).status_code == 400
    assert client.get("/reset/" + "x" * 500, headers=HTML).status_code == 400
    with portal.runtime.sessions.begin() as session:
        user = session.get(User, ada.id)
        assert user is not None
        fresh = issue_link(session, user, Purpose.verify, now=utcnow() - timedelta(hours=47))
    assert client.get(f"/verify/{fresh}", headers=HTML).status_code == 200


def test_the_demo_sign_in_link_signs_in_once(portal: Portal) -> None:
    ada = portal.user("ada@example.com")
    with portal.runtime.sessions.begin() as session:
        user = session.get(User, ada.id)
        assert user is not None
        token = issue_link(session, user, Purpose.login)
    client = portal.client()
    opened = client.get(f"/login/link/{token}", headers=HTML)
    assert opened.status_code == 303 and auth.COOKIE in opened.headers["set-cookie"]
    assert _signed_in_as(client) == "ada@example.com"
    assert portal.client().get(f"/login/link/{token}", headers=HTML).status_code == 400
    # A reset or verify link is no sign-in link.
    with portal.runtime.sessions.begin() as session:
        user = session.get(User, ada.id)
        assert user is not None
        reset = issue_link(session, user, Purpose.reset)
    assert portal.client().get(f"/login/link/{reset}", headers=HTML).status_code == 400


def test_login_remember_me_and_a_new_token_each_time(portal: Portal) -> None:
    ada = portal.user("ada@example.com")
    client = portal.client()
    wrong = _login(client, "ada@example.com", "not the password at all")
    unknown = _login(client, "nobody@example.com", PASSWORD)
    assert wrong.status_code == unknown.status_code == 400
    assert "email address or password is not right" in wrong.text and PASSWORD not in unknown.text
    assert 'value="nobody@example.com"' in unknown.text
    missing = _login(client, "", "")
    assert missing.status_code == 400 and 'id="e-email"' in missing.text

    # A token planted in the browser before login (session fixation) is replaced and ended.
    with portal.runtime.sessions.begin() as session:
        planted, _ = start_session(session, ada, remember=False)
    client.cookies.set(auth.COOKIE, planted)
    plain = _login(client, "ADA@example.com", PASSWORD, next="/account")
    assert plain.status_code == 303 and plain.headers["location"] == "/account"
    cookie = plain.headers["set-cookie"]
    assert "expires" not in cookie.lower() and "max-age" not in cookie.lower()  # browser session
    assert planted not in cookie
    with portal.runtime.sessions() as session:
        assert session_user(session, planted) is None

    remembered = _login(portal.client(), "ada@example.com", PASSWORD, remember="on")
    assert "expires=" in remembered.headers["set-cookie"].lower()
    with portal.runtime.sessions() as session:
        kinds = sorted(s.remember for s in session.query(PortalSession).all())
    assert kinds == [False, True]
    offsite = _login(portal.client(), "ada@example.com", PASSWORD, next="//evil.example")
    assert offsite.headers["location"] == "/"


def test_sessions_expire(portal: Portal) -> None:
    ada = portal.user("ada@example.com")
    with portal.runtime.sessions.begin() as session:
        short, _ = start_session(session, ada, remember=False, now=utcnow() - timedelta(hours=12))
        kept, _ = start_session(session, ada, remember=True, now=utcnow() - timedelta(days=29))
        old, _ = start_session(session, ada, remember=True, now=utcnow() - timedelta(days=30))
    for token, signed in ((short, None), (kept, "ada@example.com"), (old, None)):
        client = portal.client()
        client.cookies.set(auth.COOKIE, token)
        assert _signed_in_as(client) == signed


def test_throttled_across_two_apps_on_one_store(portal: Portal, tmp_path: Path) -> None:
    portal.user("ada@example.com")
    url = str(portal.runtime.engine.url.render_as_string(hide_password=False))
    other = make_portal(tmp_path / "second", url)
    try:
        apps = [portal.client(), other.client()]
        for attempt in range(5):
            answer = _login(apps[attempt % 2], "ada@example.com", "wrong password here")
            assert answer.status_code == 400
        for client in apps:  # the right password waits too, on both
            throttled = _login(client, "ada@example.com", PASSWORD)
            assert throttled.status_code == 429 and "try again after" in throttled.text
            assert 800 <= int(throttled.headers["retry-after"]) <= 900
        # Another account from another address is not held up.
        other.user("bob@example.com")
        assert _login(other.client("10.0.0.9"), "bob@example.com", PASSWORD).status_code == 303
    finally:
        other.runtime.close()


def test_throttled_per_address_and_the_window_passes(portal: Portal) -> None:
    portal.user("ada@example.com")
    client = portal.client("192.0.2.7")
    for n in range(20):  # a different address each time: only the per-address count adds up
        assert _login(client, f"guess{n}@example.com", "wrong password here").status_code == 400
    assert _login(client, "ada@example.com", PASSWORD).status_code == 429
    assert _login(portal.client("192.0.2.8"), "ada@example.com", PASSWORD).status_code == 303
    with portal.runtime.sessions.begin() as session:
        later = utcnow() + timedelta(minutes=15, seconds=1)
        assert throttle.login_wait(session, "x@example.com", "192.0.2.7", now=later) is None
        assert throttle.login_wait(session, "x@example.com", "192.0.2.7") is not None


def test_the_account_page(portal: Portal) -> None:
    client, ada = portal.signed_in_client("ada@example.com")
    other = portal.client()
    portal.sign_in(other, ada)
    portal.user("bob@example.com")
    page = client.get("/account", headers=HTML)
    assert page.status_code == 200 and "Update Details" in page.text
    details = {k: v for k, v in REGISTER.items() if k not in ("password", "confirm")}
    saved = _post(client, "/account", {**details, "email": "ada@example.com"}, "/account")
    assert saved.status_code == 200 and "Your details are saved" in saved.text
    assert 'value="Grace"' in saved.text
    taken = _post(client, "/account", {**details, "email": "bob@example.com"}, "/account")
    assert taken.status_code == 400 and "cannot be used" in taken.text
    bad = _post(client, "/account", {**details, "first_name": "", "country": "?"}, "/account")
    assert (
        bad.status_code == 400 and 'id="e-first_name"' in bad.text and 'id="e-country"' in bad.text
    )

    wrong = {"current": "not my password", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    refused = _post(client, "/account/password", wrong, "/account")
    assert refused.status_code == 400 and "not your current password" in refused.text
    weak = {"current": PASSWORD, "password": "abcabcabcabc", "confirm": "abcabcabcabc"}
    assert _post(client, "/account/password", weak, "/account").status_code == 400
    good = {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    changed = _post(client, "/account/password", good, "/account")
    assert changed.status_code == 200 and "Sessions ended elsewhere: 1" in changed.text
    assert _signed_in_as(client) == "ada@example.com"  # this browser stays
    assert _signed_in_as(other) is None  # the other one does not

    moved = _post(client, "/account", {**details, "email": "ada@new.example"}, "/account")
    assert moved.status_code == 200 and "to verify it" in moved.text
    assert _outbox_links(portal)[0].startswith("/verify/")


def test_unverified_users_cannot_create_connections(portal: Portal) -> None:
    router = APIRouter()

    @router.post("/_needs_verified")
    def probe(user: User = Depends(auth.verified)) -> dict[str, str]:
        return {"ok": user.email}

    portal.app.include_router(router, dependencies=[Depends(csrf.require)])
    client, ada = portal.signed_in_client()
    token = csrf_token(client)
    refused = client.post("/_needs_verified", headers={"x-csrf-token": token, **HTML})
    assert refused.status_code == 403 and "Verify your email address" in refused.text
    with portal.runtime.sessions.begin() as session:
        user = session.get(User, ada.id)
        assert user is not None
        user.email_verified_at = utcnow()
    assert client.post("/_needs_verified", headers={"x-csrf-token": token}).json() == {
        "ok": "ada@example.com"
    }


def test_an_outdated_hash_is_upgraded_at_login(portal: Portal) -> None:
    ada = portal.user("ada@example.com")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with portal.runtime.sessions.begin() as session:
        user = session.get(User, ada.id)
        assert user is not None
        user.password_hash = weak
    assert _login(portal.client(), "ada@example.com", PASSWORD).status_code == 303
    with portal.runtime.sessions() as session:
        user = session.get(User, ada.id)
        assert user is not None and user.password_hash != weak
        assert not PasswordHasher().check_needs_rehash(user.password_hash)


@pytest.mark.parametrize("path", ["/login", "/register", "/forgot", "/logout", "/account"])
def test_account_forms_refuse_a_missing_csrf_token(portal: Portal, path: str) -> None:
    client = portal.client()
    client.get("/login")  # the browser has its CSRF cookie, the form no token
    answer = client.post(
        path, data={"email": "ada@example.com", "password": PASSWORD}, headers=HTML
    )
    assert answer.status_code == 403


def test_the_outbox_is_for_this_machine_only(portal: Portal) -> None:
    assert portal.client().get("/outbox", headers=HTML).status_code == 404
    proxied = portal.client(LOCAL)  # a proxy on this machine, forwarding the public name
    proxied.base_url = "http://portal.example"  # type: ignore[assignment]
    assert proxied.get("/outbox", headers=HTML).status_code == 404
    assert portal.client(LOCAL).get("/outbox", headers=HTML).status_code == 200
    assert portal.client("::1").get("/outbox", headers=HTML).status_code == 200


def test_no_password_or_token_in_the_logs(
    portal: Portal, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    import structlog

    from d365xero.logs import configure_logging

    configure_logging("json")
    try:
        client = portal.client()
        _post(client, "/register", REGISTER, "/register")
        link = _outbox_links(portal)[0]
        client.get(link)
        _login(client, "grace@example.com", PASSWORD)
        _login(portal.client(), "grace@example.com", "a wrong password 1")
        _post(portal.client(), "/forgot", {"email": "grace@example.com"}, "/forgot")
        reset = _outbox_links(portal)[0]
        _post(client, reset, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, reset)
    finally:
        structlog.reset_defaults()
    logged = capsys.readouterr().err + caplog.text
    assert "mail.queued" in logged and "grace@example.com" in logged
    for secret in (PASSWORD, NEW_PASSWORD, "a wrong password 1", link, reset):
        assert secret.rsplit("/", 1)[-1] not in logged


def test_smtp_sends_with_the_public_address(tmp_path: Path, database_url: str) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received: list[str] = []

    class Keep(Message):  # type: ignore[misc]
        def handle_message(self, message) -> None:  # type: ignore[no-untyped-def]
            received.append(message.get_payload())

    with socket.socket() as probe:  # a free port (aiosmtpd's Controller cannot take 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = Controller(Keep(), hostname="127.0.0.1", port=port)
    server.start()
    try:
        portal = make_portal(
            tmp_path,
            database_url,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_starttls=False,
            public_url="https://portal.example",
        )
        try:
            portal.user("ada@example.com")
            asked = _post(portal.client(), "/forgot", {"email": "ada@example.com"}, "/forgot")
            assert asked.status_code == 200 and "/outbox" not in asked.text
            assert portal.client(LOCAL).get("/outbox", headers=HTML).status_code == 404
        finally:
            portal.runtime.close()
    finally:
        server.stop()
    assert len(received) == 1
    assert re.search(r"https://portal\.example/reset/[A-Za-z0-9_-]{40,}", received[0])


def test_emails_asked_for_are_limited(portal: Portal) -> None:
    portal.user("ada@example.com")
    client = portal.client("192.0.2.20")
    for _ in range(4):  # the fourth is answered as ever, and not sent
        asked = _post(client, "/forgot", {"email": "ada@example.com"}, "/forgot")
        assert asked.status_code == 200 and "if it has an account" in asked.text
    assert len(_outbox_links(portal)) == 3
    for n in range(7):  # addresses with no account count against the sender the same
        assert (
            _post(client, "/forgot", {"email": f"x{n}@example.com"}, "/forgot").status_code == 200
        )
    held = _post(client, "/forgot", {"email": "ada@example.com"}, "/forgot")
    assert held.status_code == 429 and "Too many emails" in held.text
    assert int(held.headers["retry-after"]) > 0
    other = _post(portal.client("192.0.2.21"), "/register", REGISTER, "/register")
    assert other.status_code == 200  # another network is not held back


def test_what_people_type_is_shown_as_text(portal: Portal) -> None:
    script = '<script>alert("x")</script>'
    fields = {**REGISTER, "first_name": script, "last_name": f"O'{script}", "company": script}
    client = portal.client()
    assert _post(client, "/register", fields, "/register").status_code == 200
    assert _login(client, "grace@example.com", PASSWORD).status_code == 303
    for path in ("/account", "/register"):
        page = client.get(path, headers=HTML).text
        assert "<script>alert" not in page
    account = client.get("/account", headers=HTML).text
    assert 'value="&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"' in account
    outbox = portal.client(LOCAL).get("/outbox", headers=HTML).text
    assert "<script>alert" not in outbox and "Hello &lt;script&gt;" in outbox


@pytest.mark.parametrize("path", ["/register", "/login", "/forgot", "/account", "/reset/x"])
def test_no_form_answers_500_to_anything(portal: Portal, path: str) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    client, _ = portal.signed_in_client("fuzz@example.com")
    token = csrf_token(client, "/account")
    names = st.sampled_from([*REGISTER, "remember", "next", "current", "x"])
    values = st.text(max_size=300) | st.sampled_from(["", "GB", "a@b.co", "+44 1234 567890"])

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.dictionaries(names, values, max_size=9))
    def post(fields: dict[str, str]) -> None:
        answer = client.post(path, data={**fields, "csrf_token": token}, headers=HTML)
        assert answer.status_code < 500, answer.text

    post()


def test_nul_characters_are_refused_not_a_500(portal: Portal) -> None:
    """PostgreSQL text cannot hold NUL, not even to compare: the forms refuse it first."""
    client = portal.client()
    for path, data in (
        ("/login", {"email": "a\x00@b.co", "password": "x\x00"}),
        ("/forgot", {"email": "a\x00@b.co"}),
        ("/register", {**REGISTER, "email": "a\x00b@c.co", "first_name": "\x00"}),
    ):
        answer = _post(client, path, data, path)
        assert answer.status_code == 400 and 'id="e-email"' in answer.text, path


def test_a_mail_server_that_refuses_is_logged_not_a_500(
    tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = {"smtp_host": "127.0.0.1", "smtp_port": port, "public_url": "https://p.example"}
    portal = make_portal(tmp_path, database_url, **settings)
    try:
        portal.user("ada@example.com")
        asked = _post(portal.client(), "/forgot", {"email": "ada@example.com"}, "/forgot")
        assert asked.status_code == 200
    finally:
        portal.runtime.close()
    logged = capsys.readouterr()
    assert (
        "mail.failed" in logged.out + logged.err
        and "ConnectionRefusedError" in logged.out + logged.err
    )
