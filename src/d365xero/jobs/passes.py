"""One sync pass over one connection: the invoice push, recorded as a sync run.

Only one pass of a connection runs at a time, whoever starts it (`sync`, the demo, the
scheduler, a worker): the pass holds the connection's lock in the store (store.locks) from
before it reads until it has written back. A pass that finds the lock held does nothing and
says so: its result is `skipped`, naming the holder. It gets no sync_runs row: it did no work,
the pass that holds the lock has its own row (shown as running), and a row per refused start
(a scheduler beside a long backfill makes one every interval) would bury the real runs.

A revoked or expired consent pauses the connection with a message saying how to reconnect;
nothing is marked Failed for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from sqlalchemy.orm import Session, sessionmaker

from d365xero.errors import AuthorisationLost, ConfigurationError, D365XeroError, PassInProgress
from d365xero.jobs.clients import ConnectionClients
from d365xero.jobs.ledger import StoreLedger
from d365xero.jobs.runtime import Runtime
from d365xero.store import connections, locks, runs
from d365xero.store.models import Connection, ConnectionStatus, RunStatus
from d365xero.sync.dryrun import DryRunDynamics, DryRunLedger, DryRunXero, Intentions
from d365xero.sync.invoices import InvoicePush
from d365xero.sync.report import PushReport

log = structlog.get_logger(__name__)


@dataclass
class PassResult:
    connection_name: str
    status: RunStatus
    report: PushReport
    xero_calls: int = 0
    dataverse_calls: int = 0
    message: str = ""


def _now() -> datetime:
    return datetime.now(UTC)


def run_pass(
    runtime: Runtime,
    connection_id: str,
    checkpoint: Callable[[str], None] = lambda step: None,
    *,
    wait: float = 0.0,
) -> PassResult:
    """One pass, unless another pass of the connection is running: then, after waiting up to
    `wait` seconds for it to end, a skipped result that names it."""
    try:
        lock = locks.take_pass_lock(runtime.engine, connection_id, wait=wait)
    except PassInProgress as busy:
        name = _connection_name(runtime, connection_id)
        return PassResult(name, RunStatus.skipped, PushReport(), message=f"skipped: {busy}")
    try:
        checkpoint("locked")

        def step(reached: str) -> None:
            lock.check()  # a pass that lost its lock stops before it writes more
            checkpoint(reached)

        return _locked_pass(runtime, connection_id, step)
    finally:
        lock.release()


def _connection(session: Session, connection_id: str) -> Connection:
    connection = connections.get_connection(session, connection_id)
    if connection is None:
        raise D365XeroError(f"no connection {connection_id}")
    return connection


def _connection_name(runtime: Runtime, connection_id: str) -> str:
    with runtime.sessions() as session:
        return _connection(session, connection_id).name


def _locked_pass(
    runtime: Runtime, connection_id: str, checkpoint: Callable[[str], None]
) -> PassResult:
    sessions, box = runtime.sessions, runtime.box
    with sessions.begin() as session:
        connection = _connection(session, connection_id)
        name = connection.name
        if connection.status == ConnectionStatus.paused.value:
            return PassResult(name, RunStatus.failed, PushReport(), message="paused")
        secrets = connections.read_secrets(box, connection)
        clients = runtime.clients_for(connection, secrets)
        previous = runs.recent_runs(session, connection_id, limit=1)
        noted = bool(previous and previous[0].message)  # a message Dynamics users may still see
        run_id = runs.start_run(session, connection_id).id
    report = PushReport()
    status, message = RunStatus.succeeded, ""
    calls = (clients.xero.calls, clients.dataverse.calls)
    try:
        ledger = StoreLedger(sessions, connection_id)
        push = InvoicePush(clients.dynamics, clients.xero, ledger, _now, checkpoint=checkpoint)
        report = push.run()
    except AuthorisationLost as exc:
        status, message = RunStatus.failed, str(exc)
        _pause(sessions, clients, connection_id, message)
        runtime.forget_clients(connection_id)  # fresh tokens once someone reconnects
    except ConfigurationError as exc:  # e.g. field mappings refused: Dynamics users must see it
        status, message = RunStatus.failed, str(exc)
        _note_in_dynamics(clients, message)
    except D365XeroError as exc:
        status, message = RunStatus.failed, str(exc)
        log.warning("sync pass failed", connection=name, error=message)
    except Exception as exc:  # a bug: recorded on the run and logged in full, never swallowed
        log.exception("sync pass failed unexpectedly", connection=name)
        status = RunStatus.failed
        message = f"Unexpected error ({type(exc).__name__}): {exc}. See the connector's log."
    if status is not RunStatus.failed and noted:
        _note_in_dynamics(clients, None)  # whatever stopped the last pass is over
    if status is RunStatus.succeeded and report.count("failed"):
        status = RunStatus.partial
    result = PassResult(
        name,
        status,
        report,
        clients.xero.calls - calls[0],
        clients.dataverse.calls - calls[1],
        message,
    )
    with sessions.begin() as session:
        run = runs.get_run(session, run_id)
        assert run is not None
        run.invoices_seen = sum(report.counts.values())
        run.invoices_created = report.count("created")
        run.invoices_failed = report.count("failed")
        run.xero_calls = result.xero_calls
        run.dataverse_calls = result.dataverse_calls
        runs.finish_run(run, status, message or None)
    return result


def _pause(
    sessions: sessionmaker[Session], clients: ConnectionClients, connection_id: str, message: str
) -> None:
    with sessions.begin() as session:
        connection = connections.get_connection(session, connection_id)
        if connection is not None:
            connections.pause_connection(connection, message)
    _note_in_dynamics(clients, message)


def _note_in_dynamics(clients: ConnectionClients, message: str | None) -> None:
    """The connection's message on its dxc_connection row, where Dynamics users look."""
    try:
        clients.dataverse.update(
            "dxc_connections", clients.dynamics.connection_row_id, {"dxc_message": message}
        )
    except D365XeroError:
        log.info("could not record the connection's message in Dynamics", message=message)


@dataclass
class DryRunResult:
    connection_name: str
    report: PushReport
    intentions: Intentions


def dry_run_pass(runtime: Runtime, connection_id: str) -> DryRunResult:
    """The pass a real one would make, reading Xero and Dynamics and writing to neither."""
    sessions = runtime.sessions
    with sessions() as session:
        connection = _connection(session, connection_id)
        name = connection.name
        clients = runtime.clients_for(connection, connections.read_secrets(runtime.box, connection))
    intentions = Intentions()
    push = InvoicePush(
        DryRunDynamics(clients.dynamics, intentions),
        DryRunXero(clients.xero, intentions),
        DryRunLedger(StoreLedger(sessions, connection_id)),
        _now,
    )
    return DryRunResult(name, push.run(), intentions)
