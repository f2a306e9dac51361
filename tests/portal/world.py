"""A small world for tests that walk every route: the real app over a real store (SQLite), both
emulators over HTTPS and the Stripe stand-in on real ports (the portal's registered apps
configured for them), an owner and a stranger with a real connection each, a client per viewer
(signed out, owner, stranger) holding its own CSRF cookie and token, a pass queue (webhooks
queue passes instead of answering 503), and no connection off this machine."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from pydantic import SecretStr
from starlette.testclient import TestClient

from d365xero.config import Settings
from d365xero.demo import demo_connection
from d365xero.emulators.core.server import ServerThread
from d365xero.emulators.core.tls import LocalCA
from d365xero.emulators.dataverse.app import create_app as create_dataverse
from d365xero.jobs.embedded import EmbeddedScheduler
from d365xero.jobs.runtime import Runtime, open_runtime
from d365xero.jobs.setup import add_connection
from d365xero.portal import auth
from d365xero.portal.app import create_app
from d365xero.store import connections as store_connections
from d365xero.store.sessions import start_session
from d365xero.store.users import create_user, mark_verified
from tests.portal.conftest import PASSWORD
from tests.support.dataverse_fixtures import TENANT
from tests.support.portal_routes import Endpoint, endpoints, loopback_only, template_field_names
from tests.support.stripe_fixtures import SECRET_KEY, WEBHOOK_SECRET, stand_in
from tests.support.xero_fixtures import CLIENT_ID, CLIENT_SECRET, build_harness

WHO = ("signed out", "owner", "stranger")


@dataclass
class World:
    app: FastAPI
    runtime: Runtime
    clients: dict[str, TestClient]
    users: dict[str, Any]
    ids: list[str]  # the owner's connection, the stranger's, and an id no one has
    tokens: dict[str, str] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)  # hosts off this machine, refused

    @property
    def endpoints(self) -> list[Endpoint]:
        return endpoints(self.app)

    @property
    def fields(self) -> list[str]:
        return template_field_names()

    def signed_as(self, who: str) -> TestClient:
        """The viewer's client with a fresh session (a logout or password change ends one)."""
        client = self.clients[who]
        if who in self.users:
            with self.runtime.sessions.begin() as session:
                token, _ = start_session(session, self.users[who], remember=False)
            client.cookies.set(auth.COOKIE, token)
        return client


def page_token(client: TestClient) -> str:
    """The CSRF token of the first page the viewer lands on (signed in, / sends them on)."""
    page = client.get("/", headers={"accept": "text/html"}, follow_redirects=True)
    found = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text)
    assert found, f"no CSRF token on {page.url} ({page.status_code})"
    return found.group(1)


@contextmanager
def _outside(folder: Path) -> Iterator[tuple[str, str, str, Path]]:
    """Xero's and Dynamics' emulators over HTTPS and the Stripe stand-in, on real ports: the
    URLs of each and the CA that signed the emulators' certificates."""
    ca = LocalCA.load_or_create(folder)
    xero = build_harness()
    xero.emulator.seed()
    dataverse = create_dataverse(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, tenant=TENANT)
    dataverse.state.emulator.seed()
    with (
        ServerThread(xero.validator, tls=ca.issue("xero")) as xero_server,
        ServerThread(dataverse, tls=ca.issue("dataverse")) as dataverse_server,
        stand_in() as stripe,
    ):
        xero.url = xero_server.url
        yield xero_server.url, dataverse_server.url, stripe.url, ca.cert_path
    xero.check()  # what the portal sent Xero matched Xero's OpenAPI description


def _connection(
    config: Settings, runtime: Runtime, user: Any, name: str, dataverse_url: str, real: bool
) -> str:
    """The owner's is made as `connection add` makes it (its rows in Dynamics, Xero's reference
    data imported); Xero allows one per organisation, so the stranger's is only in the store."""
    new = replace(demo_connection(config.xero_url, dataverse_url), name=name, user_id=user.id)
    if real:
        return add_connection(config, runtime.sessions, runtime.box, new)[0].id
    with runtime.sessions.begin() as session:
        return store_connections.add_connection(
            session, runtime.box, name=name, secrets={}, user_id=user.id, xero_url=new.xero_url
        ).id


@contextmanager
def open_world(folder: Path, names: dict[str, str] | None = None) -> Iterator[World]:
    """`names`: the connection name of each user (owner, stranger)."""
    names = names or {"owner": "owner's books", "stranger": "stranger's books"}
    with _outside(folder) as (xero_url, dataverse_url, stripe_url, ca_file):
        config = Settings(
            data_dir=folder,
            database_url=f"sqlite:///{folder / 'store.sqlite3'}",
            ca_bundle=ca_file,
            xero_url=xero_url,
            xero_webhook_key=SecretStr("test-webhook-key"),
            # The portal's registered apps: the emulators' demo app.
            xero_client_id=CLIENT_ID,
            xero_client_secret=SecretStr(CLIENT_SECRET),
            dataverse_client_id=CLIENT_ID,
            dataverse_client_secret=SecretStr(CLIENT_SECRET),
            stripe_url=stripe_url,
            stripe_secret_key=SecretStr(SECRET_KEY),
            stripe_webhook_secret=SecretStr(WEBHOOK_SECRET),
        )
        runtime = open_runtime(config)
        scheduler = EmbeddedScheduler(runtime)  # never started: requested passes just wait
        app = create_app(config, runtime=runtime, passes=scheduler)
        users, ids = {}, []
        for who in ("owner", "stranger"):
            with runtime.sessions.begin() as session:
                user = create_user(session, f"{who}@example.com", PASSWORD)
                mark_verified(user)
                session.flush()
                session.expunge(user)
            users[who] = user
            ids.append(
                _connection(config, runtime, user, names[who], dataverse_url, who == "owner")
            )
        ids.append("0" * 32)
        clients = {who: TestClient(app, follow_redirects=False) for who in WHO}
        world = World(app, runtime, clients, users, ids)
        try:
            with loopback_only() as refused:
                world.refused = refused
                for who, client in clients.items():
                    world.signed_as(who)
                    world.tokens[who] = page_token(client)
                yield world
        finally:
            for client in clients.values():
                client.close()
            scheduler.stop()
            runtime.close()
