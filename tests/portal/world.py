"""A small world for tests that walk every route: the real app over a real store (SQLite), an
owner and a stranger with a connection each, a client per viewer (signed out, owner, stranger)
holding its own CSRF cookie and token, a pass queue (webhooks queue passes instead of answering
503), Xero and Dynamics on closed loopback ports, and no connection off this machine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from pydantic import SecretStr
from starlette.testclient import TestClient

from d365xero.config import Settings
from d365xero.emulators.core.server import free_port
from d365xero.jobs.embedded import EmbeddedScheduler
from d365xero.jobs.runtime import Runtime, open_runtime
from d365xero.portal import auth
from d365xero.portal.app import create_app
from d365xero.store.connections import add_connection
from d365xero.store.sessions import start_session
from d365xero.store.users import create_user
from tests.portal.conftest import PASSWORD, csrf_token
from tests.support.portal_routes import Endpoint, endpoints, loopback_only, template_field_names

WHO = ("signed out", "owner", "stranger")


@dataclass
class World:
    app: FastAPI
    runtime: Runtime
    closed_url: str  # where Xero and Dynamics are said to be: nothing listens there
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


@contextmanager
def open_world(folder: Path, names: dict[str, str] | None = None) -> Iterator[World]:
    """`names`: the connection name of each user (owner, stranger)."""
    names = names or {"owner": "owner's books", "stranger": "stranger's books"}
    closed = f"http://127.0.0.1:{free_port()}"
    config = Settings(
        data_dir=folder,
        database_url=f"sqlite:///{folder / 'store.sqlite3'}",
        xero_url=closed,
        xero_webhook_key=SecretStr("test-webhook-key"),
    )
    runtime = open_runtime(config)
    scheduler = EmbeddedScheduler(runtime)  # never started: requested passes just wait
    app = create_app(config, runtime=runtime, passes=scheduler)
    users, ids = {}, []
    with runtime.sessions.begin() as session:
        for who in ("owner", "stranger"):
            users[who] = create_user(session, f"{who}@example.com", PASSWORD)
            made = add_connection(
                session,
                runtime.box,
                name=names[who],
                secrets={},
                user_id=users[who].id,
                xero_url=closed,
                dataverse_url=closed,
                dataverse_tenant="tenant",
                dataverse_authority=closed,
            )
            ids.append(made.id)
        session.expunge_all()
    ids.append("0" * 32)
    clients = {who: TestClient(app, follow_redirects=False) for who in WHO}
    world = World(app, runtime, closed, clients, users, ids)
    try:
        with loopback_only() as refused:
            world.refused = refused
            for who, client in clients.items():
                world.signed_as(who)
                world.tokens[who] = csrf_token(client)
            yield world
    finally:
        for client in clients.values():
            client.close()
        scheduler.stop()
        runtime.close()
