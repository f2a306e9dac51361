"""Xero webhook deduplication shared through the store: a redelivery that reaches another
`serve` process (here a second app on the same store), or a process started after, is
acknowledged without queueing a second pass; keys expire, so the table stays bounded; a delivery
that could not be queued is queued when it comes again. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from starlette.testclient import TestClient

from d365xero.config import Settings
from d365xero.jobs.runtime import Runtime, open_runtime
from d365xero.portal.app import create_app
from d365xero.portal.webhooks import SEEN_FOR
from d365xero.store import connections
from d365xero.store.models import WebhookEvent
from tests.support.xero_deliveries import invoice_event, signed_delivery

KEY = "xero-webhook-signing-key-for-tests"
TENANT = "7f6e5d4c-0000-4000-8000-000000000001"


class Recorder:
    """PassRequests that remember what was asked (and can fail the next `failures` asks)."""

    def __init__(self, failures: int = 0) -> None:
        self.asked: list[tuple[str, list[str]]] = []
        self.failures = failures

    def request_pass(
        self, connection_id: str, *, reason: str, record_ids: Sequence[str] = ()
    ) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the queue is down")
        self.asked.append((connection_id, list(record_ids)))


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=tmp_path, database_url=database_url, xero_webhook_key=SecretStr(KEY))


@pytest.fixture
def connection_id(settings: Settings) -> Iterator[str]:
    runtime = open_runtime(settings)
    with runtime.sessions.begin() as session:
        made = connections.add_connection(
            session, runtime.box, name="Hooks", secrets={}, xero_tenant_id=TENANT
        )
        cid = made.id
    runtime.close()
    yield cid


class Process:
    """One `serve` process's web app: its own runtime (engine, sessions) on the shared store."""

    def __init__(self, settings: Settings, passes: Recorder) -> None:
        self.runtime: Runtime = open_runtime(settings)
        self.passes = passes
        app = create_app(settings, runtime=self.runtime, passes=passes)
        self.client = TestClient(app, raise_server_exceptions=False)

    def deliver(self, *events: dict[str, Any]) -> int:
        body, headers = signed_delivery(list(events), KEY)
        return self.client.post("/webhooks/xero", content=body, headers=headers).status_code

    def close(self) -> None:
        self.client.close()
        self.runtime.close()


@pytest.fixture
def processes(settings: Settings, connection_id: str) -> Iterator[list[Process]]:
    made: list[Process] = []
    yield made
    for process in made:
        process.close()


def _event(resource: str, when: str = "2026-12-01T10:00:01.000") -> dict[str, Any]:
    return invoice_event(TENANT, resource, when)


def _start(processes: list[Process], settings: Settings, failures: int = 0) -> Process:
    process = Process(settings, Recorder(failures))
    processes.append(process)
    return process


def test_a_redelivery_to_another_process_or_after_a_restart_is_not_queued_again(
    settings: Settings, connection_id: str, processes: list[Process]
) -> None:
    first, second = _start(processes, settings), _start(processes, settings)
    assert first.deliver(_event("a" * 8), _event("a" * 8)) == 200  # twice in one: once
    assert first.passes.asked == [(connection_id, ["a" * 8])]
    assert second.deliver(_event("a" * 8), _event("b" * 8)) == 200  # Xero retrying, and more
    assert second.passes.asked == [(connection_id, ["b" * 8])]
    first.close()
    processes.remove(first)
    restarted = _start(processes, settings)
    assert restarted.deliver(_event("a" * 8), _event("b" * 8)) == 200
    assert restarted.passes.asked == []
    # A later event about the same invoice is another event.
    assert restarted.deliver(_event("a" * 8, when="2026-12-01T10:05:00.000")) == 200
    assert restarted.passes.asked == [(connection_id, ["a" * 8])]


def test_old_keys_expire(settings: Settings, connection_id: str, processes: list[Process]) -> None:
    first = _start(processes, settings)
    assert first.deliver(_event("c" * 8)) == 200
    with first.runtime.engine.begin() as connection:  # seen longer ago than any redelivery
        old = datetime.now(UTC) - SEEN_FOR - timedelta(minutes=1)
        connection.execute(sa.update(WebhookEvent).values(seen_at=old))
    later = _start(processes, settings)  # a process prunes at its first delivery
    assert later.deliver(_event("d" * 8)) == 200
    with later.runtime.engine.connect() as connection:
        count = connection.execute(sa.select(sa.func.count()).select_from(WebhookEvent))
        assert count.scalar() == 1  # only d's: c's key is gone
    assert later.deliver(_event("c" * 8)) == 200
    assert [ids for _, ids in later.passes.asked] == [["d" * 8], ["c" * 8]]


def test_a_delivery_that_could_not_be_queued_is_queued_when_it_comes_again(
    settings: Settings, connection_id: str, processes: list[Process]
) -> None:
    failing = _start(processes, settings, failures=1)
    assert failing.deliver(_event("e" * 8)) == 500  # Xero will deliver it again
    other = _start(processes, settings)
    assert other.deliver(_event("e" * 8)) == 200
    assert other.passes.asked == [(connection_id, ["e" * 8])]
