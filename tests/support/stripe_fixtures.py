"""The Stripe stand-in for tests, on a real port behind the OpenAPI validator, and the billing
harness: the real app (create_app) over a real store, served on a real port so the stand-in's
webhook events reach POST /webhooks/stripe, with the official stripe SDK pointed at the
stand-in. `check()` fails the test on any response or event that does not match Stripe's
OpenAPI description."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import stripe
from fastapi import FastAPI
from pydantic import SecretStr
from starlette.testclient import TestClient

from d365xero.billing.client import stripe_client
from d365xero.config import Settings
from d365xero.emulators.core.server import ServerThread
from d365xero.emulators.stripe.app import create_app as create_stripe
from d365xero.emulators.stripe.models import StripeBackend
from d365xero.jobs.runtime import Runtime, open_runtime
from d365xero.portal.app import create_app
from d365xero.store import connections
from d365xero.store.models import Connection, User
from d365xero.store.users import create_user
from tests.support.stripe_openapi import StripeValidator, event_errors

SECRET_KEY = "sk_test_d365xero_tests"
WEBHOOK_SECRET = "whsec_d365xero_tests_signing_secret"
GOOD_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"


@dataclass
class StandIn:
    validator: StripeValidator
    backend: StripeBackend
    url: str
    _http: list[httpx.Client] = field(default_factory=list)

    def http(self) -> httpx.Client:
        client = httpx.Client(base_url=self.url, timeout=30)
        self._http.append(client)
        return client

    def sdk(self, key: str = SECRET_KEY) -> stripe.StripeClient:
        settings = Settings(stripe_url=self.url, stripe_secret_key=SecretStr(key))
        return stripe_client(settings, self.http())

    def pay(self, checkout_url: str, card: str = GOOD_CARD, **form: str) -> httpx.Response:
        """The customer on the hosted page: fills it in and presses the price button."""
        fields = {"email": "ada@example.com", "card": card, "expiry": "12 / 34", "cvc": "123"}
        return self.http().post(checkout_url, data={**fields, **form}, follow_redirects=False)

    def hook(self, path: str) -> httpx.Response:
        return self.http().post(f"/_emulator/{path}")

    def wait(self) -> None:
        assert self.backend.sender.wait_idle(20), "webhook deliveries still queued"

    def check(self) -> None:
        assert self.validator.mismatches == [], "\n".join(self.validator.mismatches)
        for event in self.backend.events.values():
            assert event_errors(event) == [], (event["type"], event_errors(event))

    def close(self) -> None:
        for client in self._http:
            client.close()


@contextmanager
def stand_in() -> Iterator[StandIn]:
    app = create_stripe(secret_key=SECRET_KEY, webhook_secret=WEBHOOK_SECRET)
    validator = StripeValidator(app)
    with ServerThread(validator) as server:
        harness = StandIn(validator, app.state.emulator, server.url)
        try:
            yield harness
        finally:
            harness.close()


@dataclass
class Billing:
    stripe: StandIn
    runtime: Runtime
    app: FastAPI
    url: str
    user: User
    connection: Connection

    def client(self) -> TestClient:
        return TestClient(self.app, follow_redirects=False)

    def fresh(self, connection_id: str | None = None) -> Connection:
        with self.runtime.sessions() as session:
            found = connections.get_connection(session, connection_id or self.connection.id)
            assert found is not None
            session.expunge(found)
            return found

    def entitlement(self) -> Any:
        return connections.connection_entitlement(self.fresh())


@contextmanager
def billing_harness(tmp_path: Path, database_url: str) -> Iterator[Billing]:
    with stand_in() as stand:
        settings = Settings(
            data_dir=tmp_path,
            database_url=database_url,
            stripe_url=stand.url,
            stripe_secret_key=SecretStr(SECRET_KEY),
            stripe_webhook_secret=SecretStr(WEBHOOK_SECRET),
        )
        runtime = open_runtime(settings)
        http = httpx.Client(timeout=30)
        app = create_app(settings, runtime=runtime, stripe_http=http)
        with ServerThread(app) as server:
            stand.backend.sender.register(f"{server.url}/webhooks/stripe", retry_delays=(0.2,))
            with runtime.sessions.begin() as session:
                user = create_user(session, "ada@example.com", "correct horse battery staple 42")
                connection = connections.add_connection(
                    session, runtime.box, name="Demo", secrets={}, user_id=user.id
                )
                session.flush()
                session.expunge_all()
            try:
                yield Billing(stand, runtime, app, server.url, user, connection)
            finally:
                http.close()
                runtime.close()
        stand.check()
