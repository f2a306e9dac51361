"""`d365xero emulate ... --state FILE` as a user runs it, in its own process: what was written
survives a restart after SIGTERM, and after SIGKILL everything older than the save interval is
there and the file is never torn. Xero is driven through the real xero-python SDK."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from xero_python.accounting import AccountingApi, Contact, Contacts
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.oauth2 import OAuth2Token, TokenApi
from xero_python.identity import IdentityApi

from d365xero.emulators.core.server import free_port
from d365xero.emulators.core.state_file import SAVE_INTERVAL

pytestmark = pytest.mark.slow
D365XERO = [sys.executable, "-m", "d365xero.cli"]
SECRET = "demo-secret"


class Emulator:
    def __init__(self, service: str, state: Path, port: int | None = None, *more: str) -> None:
        self.service, self.state, self.port = service, state, port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("D365XERO_")}
        env["D365XERO_DATA_DIR"] = str(state.parent / "data")
        self.process = subprocess.Popen(
            [*D365XERO, "emulate", service, "--port", str(self.port), "--state", str(state), *more],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/_emulator/calls")
                return
            except httpx.TransportError:
                assert self.process.poll() is None, self.output()
                time.sleep(0.05)
        raise AssertionError(f"the {service} emulator did not start")

    def output(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.read()

    def stop(self, how: signal.Signals) -> None:
        self.process.send_signal(how)
        self.process.wait(15)
        if how is not signal.SIGKILL:
            assert "Traceback" not in self.output()

    def wait_saved(self, text: str) -> None:
        """Until FILE holds `text`: no longer than the interval (and a margin for a busy box)."""
        deadline = time.monotonic() + SAVE_INTERVAL + 5
        while text not in self.state.read_text():
            assert time.monotonic() < deadline, f"{text} not saved"
            time.sleep(0.05)


@contextmanager
def xero_sdk(url: str) -> Iterator[tuple[AccountingApi, IdentityApi]]:
    """xero-python pointed at the emulator, with a client-credentials token."""
    saved = TokenApi.client_credentials_token_url
    TokenApi.client_credentials_token_url = f"{url}/connect/token"
    store: dict[str, Any] = {}
    configuration = Configuration()  # a copy of the first one made: set the token afterwards
    configuration.oauth2_token = OAuth2Token(client_id="d365xero-demo", client_secret=SECRET)
    client = ApiClient(
        configuration,
        oauth2_token_getter=lambda: store.get("token"),
        oauth2_token_saver=lambda token: store.__setitem__("token", token),
    )
    try:
        client.get_client_credentials_token()
        yield AccountingApi(client, base_url=f"{url}/api.xro/2.0"), IdentityApi(client, url)
    finally:
        TokenApi.client_credentials_token_url = saved


def test_xero_keeps_its_organisation_across_restarts(tmp_path: Path) -> None:
    state = tmp_path / "xero.json"
    first = Emulator("xero", state)
    with xero_sdk(first.url) as (accounting, identity):
        [connection] = identity.get_connections()
        tenant = str(connection.tenant_id)
        made = accounting.create_contacts(tenant, Contacts(contacts=[Contact(name="Kept Ltd")]))
        kept_id = made.contacts[0].contact_id
    first.stop(signal.SIGTERM)  # at once: the save on the way out keeps the contact

    second = Emulator("xero", state, first.port)  # the same command again
    with xero_sdk(second.url) as (accounting, identity):
        assert [str(c.tenant_id) for c in identity.get_connections()] == [tenant]
        assert accounting.get_contact(tenant, kept_id).contacts[0].name == "Kept Ltd"
        made = accounting.create_contacts(tenant, Contacts(contacts=[Contact(name="Killed Ltd")]))
        killed_id = str(made.contacts[0].contact_id)
        second.wait_saved(killed_id)
    second.stop(signal.SIGKILL)

    third = Emulator("xero", state, first.port)
    with xero_sdk(third.url) as (accounting, _):
        names = {c.name for c in accounting.get_contacts(tenant).contacts}
        assert {"Kept Ltd", "Killed Ltd"} <= names
    third.stop(signal.SIGTERM)


def test_a_kill_during_writes_loses_at_most_the_last_interval(tmp_path: Path) -> None:
    state = tmp_path / "xero.json"
    emulator = Emulator("xero", state, None, "--no-rate-limits")  # as fast as it goes
    answered: list[tuple[float, str]] = []  # (when the answer came, ContactID)
    killed = threading.Event()

    def write() -> None:
        with xero_sdk(emulator.url) as (accounting, identity):
            tenant = str(identity.get_connections()[0].tenant_id)
            n = 0
            while not killed.is_set():
                n += 1
                try:
                    made = accounting.create_contacts(
                        tenant, Contacts(contacts=[Contact(name=f"Busy {n}")])
                    )
                except Exception:
                    if killed.wait(5):
                        return  # the emulator is gone, as intended
                    raise
                answered.append((time.monotonic(), str(made.contacts[0].contact_id)))

    writer = threading.Thread(target=write)
    writer.start()
    time.sleep(SAVE_INTERVAL * 2.5)  # several saves while contacts keep coming
    killed_at = time.monotonic()
    emulator.process.send_signal(signal.SIGKILL)
    killed.set()
    emulator.process.wait(15)
    writer.join(30)

    again = Emulator("xero", state, emulator.port)  # the file loads: it is whole
    with xero_sdk(again.url) as (accounting, identity):
        tenant = str(identity.get_connections()[0].tenant_id)
        kept = {str(c.contact_id) for c in accounting.get_contacts(tenant).contacts}
    old_enough = {cid for at, cid in answered if at < killed_at - SAVE_INTERVAL - 1.0}
    assert old_enough, "the writer made no contacts"
    assert old_enough <= kept
    again.stop(signal.SIGTERM)


def _dataverse(url: str) -> httpx.Client:
    token = httpx.post(
        f"{url}/demo-tenant/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "d365xero-demo",
            "client_secret": SECRET,
            "scope": f"{url}/.default",
        },
    ).json()["access_token"]
    return httpx.Client(
        base_url=f"{url}/api/data/v9.2/",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )


def test_dataverse_keeps_its_rows_across_restarts(tmp_path: Path) -> None:
    state = tmp_path / "dataverse.json"
    first = Emulator("dataverse", state)
    with _dataverse(first.url) as api:
        organisation = api.get("WhoAmI").json()["OrganizationId"]
        made = api.post("accounts", json={"name": "Kept plc"})
        assert made.status_code == 204, made.text
        kept_id = made.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")
        first.stop(signal.SIGINT)  # Ctrl-C, at once: the save on the way out keeps it

        second = Emulator("dataverse", state, first.port)
        # The token from before the restart is still good: Entra's signing key was kept.
        assert api.get("WhoAmI").json()["OrganizationId"] == organisation
        assert api.get(f"accounts({kept_id})").json()["name"] == "Kept plc"
        made = api.post("accounts", json={"name": "Killed plc"})
        assert made.status_code == 204, made.text
        second.wait_saved("Killed plc")
        second.stop(signal.SIGKILL)

        third = Emulator("dataverse", state, first.port)
        names = {a["name"] for a in api.get("accounts", params={"$select": "name"}).json()["value"]}
        assert {"Kept plc", "Killed plc"} <= names
        third.stop(signal.SIGTERM)
