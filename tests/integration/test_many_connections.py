"""What keeps many connections on one worker cheap (docs/BENCHMARKS.md, "Many connections"):
which connections are due and queued, the reads an idle pass leaves out, and the memory a
connection's clients hold between passes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from d365xero.jobs.queue import (
    defer_due,
    defer_pass,
    due_connections,
    queue_app,
    queued_connections,
)
from d365xero.store.models import RunStatus, SyncRun
from tests.integration.conftest import Stack


def _run(stack: Stack, *, ago: float, finished: bool = True) -> None:
    """A run of the stack's connection that ended (or, unfinished, started) `ago` seconds ago."""
    at = datetime.now(UTC) - timedelta(seconds=ago)
    with stack.runtime.sessions.begin() as session:
        session.add(
            SyncRun(
                connection_id=stack.connection.id,
                started_at=at,
                finished_at=at if finished else None,
                status=RunStatus.succeeded.value if finished else RunStatus.running.value,
            )
        )


def _interval(stack: Stack) -> int:
    with stack.runtime.sessions() as session:
        found = session.get(type(stack.connection), stack.connection.id)
        assert found is not None
        return found.sync_interval


def test_a_connection_is_due_once_its_last_finished_run_is_an_interval_old(stack: Stack) -> None:
    cid, interval = stack.connection.id, _interval(stack)
    assert due_connections(stack.runtime) == [cid]  # never ran
    _run(stack, ago=interval + 60)
    assert due_connections(stack.runtime) == [cid]
    _run(stack, ago=10)
    assert due_connections(stack.runtime) == []


def test_a_run_left_unfinished_by_a_dead_worker_does_not_hide_the_connection(
    stack: Stack,
) -> None:
    _run(stack, ago=_interval(stack) + 60)
    _run(stack, ago=30, finished=False)  # SIGKILLed mid-pass: never finished
    assert due_connections(stack.runtime) == [stack.connection.id]


def test_a_connection_with_a_job_waiting_or_running_is_not_due_again(stack: Stack) -> None:
    assert due_connections(stack.runtime, frozenset({stack.connection.id})) == []


def test_the_due_check_queues_a_due_connection_once(stack: Stack) -> None:
    url = stack.runtime.settings.database()
    if not url.startswith("postgresql"):
        pytest.skip("procrastinate's queue lives in PostgreSQL")
    from d365xero.jobs.queue import install_schema

    install_schema(url)
    with queue_app(url, stack.runtime).open() as app:
        assert queued_connections(app) == frozenset()
        assert defer_due(app, stack.runtime) == 1
        assert queued_connections(app) == {stack.connection.id}
        assert defer_due(app, stack.runtime) == 0  # still due, but its job is waiting
        assert not defer_pass(app, stack.connection.id)  # the queueing lock agrees


def _linked(stack: Stack, entity_set: str) -> list[dict[str, object]]:
    key = "accountid" if entity_set == "accounts" else "contactid"
    return stack.rows(entity_set, "dxc_xerocontactid ne null", key)


def test_without_linked_customers_balances_are_looked_for_once_a_day(stack: Stack) -> None:
    for entity_set, key in (("accounts", "accountid"), ("contacts", "contactid")):
        for row in _linked(stack, entity_set):
            stack.dataverse.update(entity_set, str(row[key]), {"dxc_xerocontactid": None})
    stack.run_pass()  # the day's look (nobody is linked)
    org = stack.dataverse_app.state.emulator
    org.calls.clear()
    stack.run_pass()
    looked = {k: n for k, n in org.calls.snapshot().items() if k.endswith(("accounts", "contacts"))}
    assert looked == {}


def test_connections_share_the_process_tls_contexts_and_hold_no_token_connection(
    stack: Stack,
) -> None:
    stack.run_pass()  # over TLS to both emulators, trusting their CA through the shared contexts
    runtime = stack.runtime
    clients = runtime.cached_clients(stack.connection.id)
    assert clients is not None and runtime._tls is not None
    pool = clients.xero.api.api_client.rest_client.pool_manager.connection_pool_kw
    assert pool["ssl_context"] is runtime._tls.urllib3 and "ca_certs" not in pool
    tokens = clients.dataverse._tokens  # type: ignore[attr-defined]
    for adapter in tokens._session.adapters.values():
        assert len(adapter.poolmanager.pools) == 0  # Entra's connection closed with the token
    runtime.forget_clients(stack.connection.id)
    with runtime.sessions() as session:
        connection = session.get(type(stack.connection), stack.connection.id)
        assert connection is not None
        from d365xero.store import connections

        again = runtime.clients_for(connection, connections.read_secrets(runtime.box, connection))
    kw = again.xero.api.api_client.rest_client.pool_manager.connection_pool_kw
    assert kw["ssl_context"] is pool["ssl_context"]
