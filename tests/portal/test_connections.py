"""Create a New Connection through both emulators' real consent pages (on real ports, over TLS,
as in tests/integration's `stack`), then passes syncing with the user's tokens; the list; the
Connect tab (disconnect, reconnect); and what is refused: a tampered or replayed state, a wrong
PKCE verifier, another user's drafts and connections, bad input."""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from d365xero.demo import create_sample_invoices
from d365xero.emulators.dataverse.sample import ADMIN_PASSWORD, ADMIN_USERNAME
from d365xero.jobs.kept import DATAVERSE_REFRESH, XERO_REFRESH
from d365xero.jobs.passes import run_pass
from d365xero.jobs.runtime import Runtime
from d365xero.portal.app import create_app
from d365xero.store import connections, drafts
from d365xero.store.models import Connection, ConnectionDraft, RunStatus
from d365xero.trust import ssl_context
from tests.integration.conftest import Stack, ready_backlog, stack  # noqa: F401  (the fixture)
from tests.portal.conftest import csrf_token
from tests.support.xero_fixtures import CLIENT_ID, CLIENT_SECRET, TENANT_ID

HTML = {"accept": "text/html"}
XERO_USER, XERO_PASSWORD = "demo@d365xero.example", "demo"
_INPUT = re.compile(
    r"<input type=['\"]hidden['\"] name=['\"]([^'\"]+)['\"] value=['\"]([^'\"]*)['\"]"
)


@dataclasses.dataclass
class Site:
    """The portal over the stack's store, its registered apps the emulators' demo app."""

    stack: Stack
    runtime: Runtime
    browser: httpx.Client  # what the user's browser does at Xero's and Microsoft's pages

    def client(self) -> TestClient:
        # Entra (and its emulator) accept loopback redirect URIs without registration.
        return TestClient(
            create_app(self.runtime.settings, runtime=self.runtime),
            base_url="http://localhost",
            follow_redirects=False,
        )

    def signed_in(self, email: str = "ada@example.com") -> tuple[TestClient, Any]:
        from d365xero.portal import auth
        from d365xero.store.models import utcnow
        from d365xero.store.sessions import start_session
        from d365xero.store.users import create_user

        client = self.client()
        with self.runtime.sessions.begin() as session:
            user = create_user(
                session, email, "correct horse battery staple 42", verified_at=utcnow()
            )
            token, _ = start_session(session, user, remember=False)
        client.cookies.set(auth.COOKIE, token)
        return client, user


@pytest.fixture
def site(stack: Stack) -> Iterator[Site]:  # noqa: F811
    settings = stack.runtime.settings.model_copy(
        update={
            "xero_url": stack.xero.url,
            "xero_client_id": CLIENT_ID,
            "xero_client_secret": SecretStr(CLIENT_SECRET),
            "dataverse_client_id": CLIENT_ID,
            "dataverse_client_secret": SecretStr(CLIENT_SECRET),
        }
    )
    runtime = dataclasses.replace(stack.runtime, settings=settings, _clients={})
    # The stack's own connection (made by `connection add`) pairs the same two organisations.
    with runtime.sessions.begin() as session:
        connections.delete_connection(session, session.get(Connection, stack.connection.id))
    with httpx.Client(verify=ssl_context(settings.ca_bundle), follow_redirects=False) as browser:
        yield Site(stack, runtime, browser)


def _post(client: TestClient, path: str, data: dict[str, str] | None = None) -> Any:
    token = csrf_token(client, "/connections")
    return client.post(path, data={"csrf_token": token, **(data or {})}, headers=HTML)


def _new_draft(client: TestClient) -> str:
    made = _post(client, "/connections/new")
    assert made.status_code == 303, made.text
    return str(made.headers["location"]).rsplit("/", 1)[1]


def _consent(site: Site, authorize: str, answers: dict[str, str]) -> str:
    """The user at the identity server's page: signs in, picks, allows. Returns the path and
    query the browser is sent back to."""
    page = site.browser.get(authorize)
    assert page.status_code == 200, page.text
    fields = {k: html.unescape(v) for k, v in _INPUT.findall(page.text)}
    action = authorize.split("?")[0]
    back = site.browser.post(action, data={**fields, **answers})
    assert back.status_code == 302, back.text
    target = urlsplit(back.headers["location"])
    assert target.netloc == "localhost"
    return f"{target.path}?{target.query}"


def _xero_consent(site: Site, client: TestClient, start: str) -> tuple[str, Any]:
    started = _post(client, start)
    assert started.status_code == 303, started.text
    authorize = started.headers["location"]
    assert "code_challenge_method=S256" in authorize and "state=" in authorize
    assert (
        "scope=offline_access+accounting.invoices+accounting.contacts+accounting.settings.read"
        in authorize
    )
    back = _consent(
        site,
        authorize,
        {"email": XERO_USER, "password": XERO_PASSWORD, "tenant": TENANT_ID, "action": "allow"},
    )
    return back, client.get(back, headers=HTML)


def _dynamics_consent(site: Site, client: TestClient, start: str) -> tuple[str, Any]:
    started = _post(client, start)
    assert started.status_code == 303, started.text
    authorize = started.headers["location"]
    assert authorize.startswith(_org_url(site) + "/")  # the emulator is its own Entra ID
    back = _consent(
        site,
        authorize,
        {
            "username": ADMIN_USERNAME,
            "password": ADMIN_PASSWORD,
            "organisation": _org_url(site),
            "consent": "accept",
        },
    )
    return back, client.get(back, headers=HTML)


def _org_url(site: Site) -> str:
    return site.stack.dataverse.org_url


def _create(site: Site, client: TestClient) -> str:
    draft = _new_draft(client)
    _, done = _xero_consent(site, client, f"/connections/new/{draft}/xero")
    assert done.status_code == 303 and done.headers["location"] == f"/connections/new/{draft}"
    page = client.get(f"/connections/new/{draft}", headers=HTML)
    assert "Connect to Xero (Demo Company (UK))" in page.text
    found = _post(client, f"/connections/new/{draft}/dynamics/find", {"org_url": _org_url(site)})
    assert found.status_code == 303, found.text
    page = client.get(f"/connections/new/{draft}", headers=HTML)
    # The page's forms may go to the authority the organisation named (CSP form-action).
    authority = f"https://{urlsplit(_org_url(site)).netloc}"
    assert authority in page.headers["content-security-policy"]
    _, done = _dynamics_consent(site, client, f"/connections/new/{draft}/dynamics")
    assert done.status_code == 303, done.text
    made = _post(
        client,
        f"/connections/new/{draft}/create",
        {"name": "Ada's books", "plan": "trial", "timezone": "Europe/London"},
    )
    assert made.status_code == 303, made.text
    return str(made.headers["location"]).rsplit("/", 1)[1]


def _secrets(site: Site, connection_id: str) -> dict[str, Any]:
    with site.runtime.sessions() as session:
        found = session.get(Connection, connection_id)
        assert found is not None
        return connections.read_secrets(site.runtime.box, found)


def test_create_through_both_consent_pages_then_passes_sync_with_the_users_tokens(
    site: Site,
) -> None:
    client, ada = site.signed_in()
    connection_id = _create(site, client)
    with site.runtime.sessions() as session:
        made = session.get(Connection, connection_id)
        assert made is not None and made.user_id == ada.id
        assert made.xero_tenant_id == TENANT_ID and made.xero_tenant_name == "Demo Company (UK)"
        assert session.query(ConnectionDraft).count() == 0  # the draft is gone
    kept = _secrets(site, connection_id)
    assert kept[XERO_REFRESH] and kept[DATAVERSE_REFRESH]
    # The dxc_connection and dxc_setting rows in Dynamics.
    [row] = site.stack.rows("dxc_connections", f"dxc_portalconnectionid eq '{connection_id}'")
    assert site.stack.rows("dxc_settings", f"_dxc_connectionid_value eq {row['dxc_connectionid']}")

    with site.runtime.sessions() as session:
        mine = dataclasses.replace(site.stack, connection=session.get(Connection, connection_id))
    ready_backlog(mine, 1)
    first = run_pass(site.runtime, connection_id)
    assert first.status is RunStatus.succeeded, first.message
    assert first.report.count("created") == 1
    # New clients (as after a restart): their first call refreshes with the stored token,
    # which Xero rotates; the rotated one is what the store keeps.
    before = _secrets(site, connection_id)[XERO_REFRESH]
    site.runtime.forget_clients(connection_id)
    ready_backlog(mine, 1)
    second = run_pass(site.runtime, connection_id)
    assert second.status is RunStatus.succeeded, second.message
    assert second.report.count("created") == 1
    after = _secrets(site, connection_id)[XERO_REFRESH]
    assert after != before

    listed = client.get("/connections", headers=HTML)
    assert "Xero Demo Company (UK) - Dynamics " + _org_url(site) in listed.text
    assert "trial expires: 30 days" in listed.text and "succeeded" in listed.text
    for secret in (after, kept[DATAVERSE_REFRESH], CLIENT_SECRET):
        assert secret not in listed.text


def _failed_cell(page: str) -> str:
    return page.split('<td class="num">')[1].split("</td>")[0]


def test_the_list_counts_the_invoices_dynamics_holds_failed(site: Site) -> None:
    client, _ = site.signed_in()
    connection_id = _create(site, client)
    assert "not counted yet" in _failed_cell(client.get("/connections", headers=HTML).text)
    [row] = site.stack.rows("dxc_connections", f"dxc_portalconnectionid eq '{connection_id}'")
    create_sample_invoices(site.stack.dataverse, row["dxc_connectionid"], site.stack.today())
    first = run_pass(site.runtime, connection_id)
    failed = first.report.count("failed")
    assert failed >= 1
    # The next pass fails none (it does not read Failed invoices again): they are still there.
    assert run_pass(site.runtime, connection_id).report.count("failed") == 0
    cell = _failed_cell(client.get("/connections", headers=HTML).text)
    assert f'<a href="/connections/{connection_id}#failed">{failed} failed</a>' in cell


def test_disconnect_pauses_and_reconnect_resumes(site: Site) -> None:
    client, _ = site.signed_in()
    connection_id = _create(site, client)
    gone = _post(client, f"/connections/{connection_id}/disconnect/xero")
    assert gone.status_code == 303
    with site.runtime.sessions() as session:
        paused = session.get(Connection, connection_id)
        assert paused is not None and paused.status == "paused"
    assert XERO_REFRESH not in _secrets(site, connection_id)
    listed = client.get("/connections", headers=HTML)
    assert "Xero was disconnected in the portal" in listed.text and "Reconnect" in listed.text
    # Xero no longer lists the app's connection to the organisation.
    emulator = site.stack.xero.emulator
    assert not [c for c in emulator.identity.connections.values() if c.user_id]

    _, back = _xero_consent(site, client, f"/connections/{connection_id}/connect/xero")
    assert back.headers["location"] == f"/connections/{connection_id}/connect?done=resumed"
    with site.runtime.sessions() as session:
        resumed = session.get(Connection, connection_id)
        assert resumed is not None and resumed.status == "active"
    assert run_pass(site.runtime, connection_id).status is RunStatus.succeeded

    page = client.get(back.headers["location"], headers=HTML)
    assert "syncing has resumed" in page.text and "Update Connection" in page.text

    _post(client, f"/connections/{connection_id}/disconnect/dynamics")
    _, back = _dynamics_consent(site, client, f"/connections/{connection_id}/connect/dynamics")
    assert back.headers["location"].endswith("done=resumed")


def test_a_state_works_once_and_only_for_its_user(site: Site) -> None:
    client, _ = site.signed_in()
    draft = _new_draft(client)
    started = _post(client, f"/connections/new/{draft}/xero")
    authorize = started.headers["location"]
    back = _consent(
        site,
        authorize,
        {"email": XERO_USER, "password": XERO_PASSWORD, "tenant": TENANT_ID, "action": "allow"},
    )
    tampered = re.sub(r"state=[^&]+", "state=forged", back)
    assert client.get(tampered, headers=HTML).status_code == 400
    eve, _ = site.signed_in("eve@example.com")
    assert eve.get(back, headers=HTML).status_code == 400  # another user's state
    assert client.get(back, headers=HTML).status_code == 303  # still the owner's, once
    again = client.get(back, headers=HTML)
    assert again.status_code == 400 and "expired" in again.text


def test_a_wrong_pkce_verifier_is_refused_by_xero(site: Site) -> None:
    client, _ = site.signed_in()
    draft = _new_draft(client)
    authorize = _post(client, f"/connections/new/{draft}/xero").headers["location"]
    with site.runtime.sessions.begin() as session:
        found = session.get(ConnectionDraft, draft)
        assert found is not None
        data = drafts.read(site.runtime.box, found)
        data[drafts.PENDING]["verifier"] = "x" * 64
        drafts.write(site.runtime.box, found, data)
    back = _consent(
        site,
        authorize,
        {"email": XERO_USER, "password": XERO_PASSWORD, "tenant": TENANT_ID, "action": "allow"},
    )
    assert client.get(back, headers=HTML).status_code == 303
    page = client.get(f"/connections/new/{draft}", headers=HTML)
    assert "Xero did not connect" in page.text and "invalid_grant" in page.text
    assert "Connect to Xero</button>" in page.text


def test_another_users_draft_and_connection_are_404(site: Site) -> None:
    client, _ = site.signed_in()
    connection_id = _create(site, client)
    draft = _new_draft(client)
    eve, _ = site.signed_in("eve@example.com")
    assert eve.get(f"/connections/new/{draft}", headers=HTML).status_code == 404
    for path in (
        f"/connections/new/{draft}/xero",
        f"/connections/new/{draft}/dynamics",
        f"/connections/new/{draft}/dynamics/find",
        f"/connections/new/{draft}/onprem",
        f"/connections/new/{draft}/forget/xero",
        f"/connections/new/{draft}/create",
        f"/connections/new/{draft}/xero/organisation",
        f"/connections/{connection_id}/connect",
        f"/connections/{connection_id}/connect/xero",
        f"/connections/{connection_id}/connect/dynamics",
        f"/connections/{connection_id}/connect/dynamics/onprem",
        f"/connections/{connection_id}/disconnect/xero",
    ):
        assert _post(eve, path).status_code == 404, path
    assert eve.get(f"/connections/{connection_id}/connect", headers=HTML).status_code == 404
    assert "Ada" not in eve.get("/connections", headers=HTML).text


def test_bad_input_gets_messages_beside_the_fields(site: Site) -> None:
    client, _ = site.signed_in()
    draft = _new_draft(client)
    early = _post(
        client, f"/connections/new/{draft}/create", {"name": "", "timezone": "Mars/Olympus"}
    )
    assert early.status_code == 400
    for message in (
        "Connect to Xero first",
        "Connect to Dynamics first",
        "Give the connection a name",
        "Pick a time zone",
    ):
        assert message in early.text
    plain = _post(
        client, f"/connections/new/{draft}/dynamics/find", {"org_url": "http://example.com"}
    )
    assert (
        plain.status_code == 400 and 'id="e-org_url"' in plain.text and "plain http" in plain.text
    )
    assert 'value="http://example.com"' in plain.text  # what was typed is kept
    onprem = _post(
        client,
        f"/connections/new/{draft}/onprem",
        {"onprem_url": "not a url", "client_id": "", "client_secret": "s3cret-typed"},
    )
    assert onprem.status_code == 400
    assert 'id="e-client_id"' in onprem.text and 'id="e-onprem_url"' in onprem.text
    assert "s3cret-typed" not in onprem.text
    assert _post(client, f"/connections/new/{draft}/forget/nothing").status_code == 404
    assert client.get("/connections/new/not-a-draft", headers=HTML).status_code == 404


def test_onprem_client_credentials_make_a_connection(site: Site) -> None:
    client, _ = site.signed_in()
    draft = _new_draft(client)
    _xero_consent(site, client, f"/connections/new/{draft}/xero")
    # Step 2 is two tabs: on-line shown, on-prem behind its link (no script needed).
    online = client.get(f"/connections/new/{draft}", headers=HTML).text
    assert f"/connections/new/{draft}/dynamics/find" in online
    assert f"/connections/new/{draft}/onprem" not in online
    assert '<a href="?dynamics=online#dynamics" aria-current="page">' in online
    onprem = client.get(f"/connections/new/{draft}?dynamics=onprem", headers=HTML).text
    assert f"/connections/new/{draft}/onprem" in onprem
    assert f"/connections/new/{draft}/dynamics/find" not in onprem
    assert '<a href="?dynamics=onprem#dynamics" aria-current="page">' in onprem
    done = _post(
        client,
        f"/connections/new/{draft}/onprem",
        {"onprem_url": _org_url(site), "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    )
    assert done.status_code == 303, done.text
    made = _post(
        client,
        f"/connections/new/{draft}/create",
        {"name": "On-prem books", "plan": "trial", "timezone": "Europe/Paris"},
    )
    assert made.status_code == 303, made.text
    connection_id = made.headers["location"].rsplit("/", 1)[1]
    assert DATAVERSE_REFRESH not in _secrets(site, connection_id)
    assert run_pass(site.runtime, connection_id).status is RunStatus.succeeded


def test_the_solution_zip_downloads(site: Site) -> None:
    client, _ = site.signed_in()
    got = client.get("/connections/new/solution.zip")
    assert got.status_code == 200 and got.content[:2] == b"PK"
    assert got.headers["content-type"] == "application/zip"


def test_several_organisations_allowed_then_one_picked(site: Site) -> None:
    from tests.support.xero_fixtures import refdata

    client, _ = site.signed_in()
    draft = _new_draft(client)
    authorize = _post(client, f"/connections/new/{draft}/xero").headers["location"]
    both = [TENANT_ID, refdata.SECOND_TENANT_ID]
    answers: dict[str, Any] = {
        "email": XERO_USER,
        "password": XERO_PASSWORD,
        "tenant": both,
        "action": "allow",
    }
    assert client.get(_consent(site, authorize, answers), headers=HTML).status_code == 303
    page = client.get(f"/connections/new/{draft}", headers=HTML)
    assert "pick the one this connection syncs" in page.text
    wrong = _post(client, f"/connections/new/{draft}/xero/organisation", {"tenant": "nope"})
    assert wrong.status_code == 400 and 'id="e-tenant"' in wrong.text
    picked = _post(client, f"/connections/new/{draft}/xero/organisation", {"tenant": TENANT_ID})
    assert picked.status_code == 303
    page = client.get(f"/connections/new/{draft}", headers=HTML)
    assert "Connect to Xero (Demo Company (UK))" in page.text


def test_update_connection_and_an_expired_draft(site: Site) -> None:
    client, _ = site.signed_in()
    connection_id = _create(site, client)
    path = f"/connections/{connection_id}/connect"
    bad = _post(client, path, {"name": "", "timezone": "Nowhere"})
    assert bad.status_code == 400 and 'id="e-name"' in bad.text and 'id="e-timezone"' in bad.text
    done = _post(client, path, {"name": "Renamed <b>", "timezone": "Europe/Paris"})
    assert done.headers["location"] == f"{path}?done=updated"
    page = client.get(done.headers["location"], headers=HTML)
    assert "The connection is updated." in page.text and "Renamed &lt;b&gt;" in page.text
    with site.runtime.sessions() as session:
        found = session.get(Connection, connection_id)
        assert found is not None and found.timezone == "Europe/Paris"

    draft = _new_draft(client)
    with site.runtime.sessions.begin() as session:
        found_draft = session.get(ConnectionDraft, draft)
        assert found_draft is not None
        found_draft.expires_at = found_draft.created_at
    assert client.get(f"/connections/new/{draft}", headers=HTML).status_code == 404


def test_dynamics_refusals_are_said_on_the_page(site: Site) -> None:
    client, _ = site.signed_in()
    draft = _new_draft(client)
    _post(client, f"/connections/new/{draft}/dynamics/find", {"org_url": _org_url(site)})
    authorize = _post(client, f"/connections/new/{draft}/dynamics").headers["location"]
    cancelled = {"username": ADMIN_USERNAME, "password": "", "consent": "cancel"}
    assert client.get(_consent(site, authorize, cancelled), headers=HTML).status_code == 303
    page = client.get(f"/connections/new/{draft}", headers=HTML)
    assert "Dynamics did not connect" in page.text and "AADSTS65004" in page.text

    authorize = _post(client, f"/connections/new/{draft}/dynamics").headers["location"]
    with site.runtime.sessions.begin() as session:
        found = session.get(ConnectionDraft, draft)
        assert found is not None
        data = drafts.read(site.runtime.box, found)
        data[drafts.PENDING]["verifier"] = "y" * 64
        drafts.write(site.runtime.box, found, data)
    accepted = {
        "username": ADMIN_USERNAME,
        "password": ADMIN_PASSWORD,
        "organisation": _org_url(site),
        "consent": "accept",
    }
    assert client.get(_consent(site, authorize, accepted), headers=HTML).status_code == 303
    page = client.get(f"/connections/new/{draft}", headers=HTML)
    assert "Dynamics did not connect" in page.text and "Code_Verifier does not match" in page.text
