"""One sync pass over one connection: its steps in order, recorded as one sync run.

The steps are reference data, the invoice push, and whatever later steps PASS_STEPS names. A
step that fails is recorded on the run with its reason and the next one still runs: an outage
in one step never undoes or stops the work of another. A revoked or expired consent pauses the
connection with a message saying how to reconnect and resume, and ends the pass; nothing is
marked Failed. A step that leaves work undone (failed, deferred or unrecorded records) is
partial, and the run's message says why.

Only one pass of a connection runs at a time, whoever starts it (`sync`, the demo, the
scheduler, a worker): the pass holds the connection's lock in the store (store.locks) from
before it reads until it has written back. A pass that finds the lock held does nothing and
says so: its result is `skipped`, naming the holder. It gets no sync_runs row: it did no work,
the pass that holds the lock has its own row (shown as running), and a row per refused start
(a scheduler beside a long backfill makes one every interval) would bury the real runs.
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.orm import Session, sessionmaker

from d365xero.domain.retry import RetryPolicy
from d365xero.errors import (
    AuthorisationLost,
    ConfigurationError,
    D365XeroError,
    PassInProgress,
)
from d365xero.jobs.ledger import StoreLedger
from d365xero.jobs.marks import StoreMarks
from d365xero.jobs.retries import StoreRetries
from d365xero.jobs.runtime import Runtime
from d365xero.store import connections, dashboard, locks, runs
from d365xero.store.models import Connection, ConnectionStatus, RunStatus
from d365xero.sync.backsync import BackSync
from d365xero.sync.cancellations import Cancellations
from d365xero.sync.dryrun import DryRunDynamics, DryRunLedger, DryRunXero, Intentions
from d365xero.sync.failed import FAILED, FailedCount
from d365xero.sync.invoices import InvoicePush
from d365xero.sync.reference import ReferenceRefresh
from d365xero.sync.report import STOPPED, Step, StepReport

if TYPE_CHECKING:  # the clients (httpx, msal, the Xero SDK) load when a connection first runs
    from d365xero.jobs.clients import ConnectionClients

log = structlog.get_logger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class StepContext:
    """What a step of a pass may use: the connection's clients and its state in the store."""

    connection_id: str
    tenant_id: str
    clients: ConnectionClients
    ledger: StoreLedger
    marks: StoreMarks
    now: Callable[[], datetime]
    checkpoint: Callable[[str], None]
    retries: StoreRetries
    stopping: Callable[[], bool] = lambda: False


def _reference(ctx: StepContext) -> Step:
    return ReferenceRefresh(
        ctx.clients.xero, ctx.clients.dynamics, ctx.marks, ctx.tenant_id, ctx.now
    )


def _push(ctx: StepContext) -> Step:
    return InvoicePush(
        ctx.clients.dynamics,
        ctx.clients.xero,
        ctx.ledger,
        ctx.now,
        checkpoint=ctx.checkpoint,
        retries=ctx.retries,
        marks=ctx.marks,
        stopping=ctx.stopping,
    )


def _cancellations(ctx: StepContext) -> Step:
    return Cancellations(
        ctx.clients.dynamics,
        ctx.clients.xero,
        ctx.ledger,
        ctx.marks,
        ctx.now,
        checkpoint=ctx.checkpoint,
    )


def _backsync(ctx: StepContext) -> Step:
    return BackSync(ctx.clients.xero, ctx.clients.dynamics, ctx.marks, ctx.now)


def _failed_count(ctx: StepContext) -> Step:
    return FailedCount(ctx.clients.dynamics)


# The steps of every pass, in order: reference data first, so the push checks invoices against
# Xero's current codes; the back-sync after the push, so what was just sent is read back; the
# failed count last, so it counts what the pass left Failed.
PASS_STEPS: tuple[tuple[str, Callable[[StepContext], Step]], ...] = (
    ("reference", _reference),
    ("push", _push),
    ("backsync", _backsync),
    ("cancellations", _cancellations),
    ("failed-count", _failed_count),
)


@dataclass
class StepResult:
    name: str
    status: RunStatus  # succeeded, partial (some records failed) or failed (the step stopped)
    report: StepReport
    xero_calls: int = 0
    dataverse_calls: int = 0
    message: str = ""
    paused: bool = False  # consent was lost during the step: the connection is now paused
    seconds: float = 0.0  # how long the step ran
    xero_waited: float = 0.0  # of which waiting for the Xero budget (slots, pacing)

    def record(self) -> dict[str, object]:
        """What the run row keeps of the step."""
        return {
            "name": self.name,
            "status": self.status.value,
            "counts": dict(self.report.counts),
            "xero_calls": self.xero_calls,
            "dataverse_calls": self.dataverse_calls,
            "message": self.message,
            "seconds": round(self.seconds, 3),
            "xero_waited": round(self.xero_waited, 3),
        }


@dataclass
class PassResult:
    connection_name: str
    status: RunStatus
    steps: list[StepResult] = field(default_factory=list)
    message: str = ""
    run_id: int | None = None  # its sync_runs row (none when skipped or paused)
    # Calls made beside the steps (clearing the connection's message in Dynamics): a pass's
    # cost is all it asked of either service.
    dataverse_beside: int = 0

    def step(self, name: str) -> StepResult | None:
        return next((s for s in self.steps if s.name == name), None)

    @property
    def report(self) -> StepReport:
        """The invoice push's report (empty when the push did not run)."""
        push = self.step("push")
        return push.report if push else StepReport()

    @property
    def xero_calls(self) -> int:
        return sum(s.xero_calls for s in self.steps)

    @property
    def dataverse_calls(self) -> int:
        return sum(s.dataverse_calls for s in self.steps) + self.dataverse_beside


def run_pass(
    runtime: Runtime,
    connection_id: str,
    checkpoint: Callable[[str], None] = lambda step: None,
    *,
    wait: float = 0.0,
    stopping: Callable[[], bool] = lambda: False,
) -> PassResult:
    """One pass, unless another pass of the connection is running: then, after waiting up to
    `wait` seconds for it to end, a skipped result that names it. Once `stopping` is true the
    pass ends where nothing is half-written: the push after the page it is on is sent and
    written back, the other steps are not started; the rest is for the next pass."""
    try:
        lock = locks.take_pass_lock(runtime.engine, connection_id, wait=wait)
    except PassInProgress as busy:
        name = _connection_name(runtime, connection_id)
        return PassResult(name, RunStatus.skipped, message=f"skipped: {busy}")
    try:
        checkpoint("locked")

        def step(reached: str) -> None:
            lock.check()  # a pass that lost its lock stops before it writes more
            checkpoint(reached)

        return _locked_pass(runtime, connection_id, step, stopping)
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
    runtime: Runtime,
    connection_id: str,
    checkpoint: Callable[[str], None],
    stopping: Callable[[], bool] = lambda: False,
) -> PassResult:
    sessions, box = runtime.sessions, runtime.box
    with sessions.begin() as session:
        connection = _connection(session, connection_id)
        name = connection.name
        if connection.status == ConnectionStatus.paused.value:
            why = connection.status_message or f"resume it with {resume_command(name)}"
            return PassResult(name, RunStatus.failed, message=f"paused: {why}")
        entitled = connections.connection_entitlement(connection)
        if not entitled.active:  # no run row: nothing was tried, and it would repeat each pass
            return PassResult(name, RunStatus.failed, message=f"not synced: {entitled.reason}")
        secrets = connections.read_secrets(box, connection)
        clients = runtime.clients_for(connection, secrets)
        previous = runs.recent_runs(session, connection_id, limit=1)
        noted = bool(previous and previous[0].message)  # a message Dynamics users may still see
        run_id = runs.start_run(session, connection_id).id
        tenant_id = connection.xero_tenant_id or ""
    with structlog.contextvars.bound_contextvars(connection_id=connection_id, run_id=run_id):
        return _steps(
            runtime, connection_id, name, run_id, clients, noted, tenant_id, checkpoint, stopping
        )


def _steps(
    runtime: Runtime,
    connection_id: str,
    name: str,
    run_id: int,
    clients: ConnectionClients,
    noted: bool,
    tenant_id: str,
    checkpoint: Callable[[str], None],
    stopping: Callable[[], bool],
) -> PassResult:
    sessions = runtime.sessions
    context = StepContext(
        connection_id,
        tenant_id,
        clients,
        StoreLedger(sessions, connection_id),
        StoreMarks(sessions, connection_id),
        _now,
        checkpoint,
        StoreRetries(sessions, connection_id, _retry_policy(runtime)),
        stopping,
    )
    result = PassResult(name, RunStatus.succeeded, run_id=run_id)
    for step_name, make in PASS_STEPS:
        if stopping():
            result.steps.append(_not_run(step_name))
            continue
        step = _run_step(runtime, context, name, step_name, make)
        result.steps.append(step)
        if step.paused:
            break  # consent lost: the other steps cannot run either
    troubled = [s for s in result.steps if s.status is not RunStatus.succeeded]
    result.message = "; ".join(f"{s.name}: {s.message}" for s in troubled if s.message)
    if any(s.status is RunStatus.failed for s in troubled):
        result.status = RunStatus.failed
    else:
        if noted:
            before = clients.dataverse.calls
            _note_in_dynamics(clients, None)  # whatever stopped the last pass is over
            result.dataverse_beside = clients.dataverse.calls - before
        if troubled:
            result.status = RunStatus.partial
    waiting = _retry_note(result.report)
    result.message = "; ".join(m for m in (result.message, waiting) if m)
    _record(sessions, run_id, result)
    return result


def _not_run(step_name: str) -> StepResult:
    return StepResult(step_name, RunStatus.partial, StepReport(stopped=True), message=STOPPED)


def _retry_policy(runtime: Runtime) -> RetryPolicy:
    settings = runtime.settings
    return RetryPolicy(settings.retry_max_attempts, timedelta(hours=settings.retry_max_age_hours))


def _retry_note(report: StepReport) -> str:
    """How many invoices wait for a retry after Xero did not answer, and why (the latest)."""
    waiting = [o for o in report.outcomes if o.result in ("deferred", "retry-waiting")]
    count = report.count("deferred") + report.count("retry-waiting")
    if not count:
        return ""
    return f"{count} invoice(s) waiting for a retry: {waiting[-1].message}"


def _run_step(
    runtime: Runtime,
    context: StepContext,
    connection_name: str,
    step_name: str,
    make: Callable[[StepContext], Step],
) -> StepResult:
    clients = context.clients
    calls = (clients.xero.calls, clients.dataverse.calls)
    started, waited = time.monotonic(), clients.xero.budget_waited
    report, status, message, paused = StepReport(), RunStatus.succeeded, "", False
    try:
        report = make(context).run()
    except AuthorisationLost as exc:
        message = f"{exc} Then: {resume_command(connection_name)}."
        status, paused = RunStatus.failed, True
        _pause(runtime.sessions, clients, context.connection_id, message)
        runtime.forget_clients(context.connection_id)  # fresh tokens once someone reconnects
    except ConfigurationError as exc:  # e.g. field mappings refused: Dynamics users must see it
        status, message = RunStatus.failed, str(exc)
        _note_in_dynamics(clients, message)
    except D365XeroError as exc:
        status, message = RunStatus.failed, str(exc)
        log.warning("sync step failed", connection=connection_name, step=step_name, error=message)
    except Exception as exc:  # a bug: recorded on the run and logged in full, never swallowed
        log.exception("sync step failed unexpectedly", connection=connection_name, step=step_name)
        status = RunStatus.failed
        message = f"Unexpected error ({type(exc).__name__}): {exc}. See the connector's log."
    if status is RunStatus.succeeded and (trouble := report.trouble()):
        status, message = RunStatus.partial, trouble
    return StepResult(
        step_name,
        status,
        report,
        clients.xero.calls - calls[0],
        clients.dataverse.calls - calls[1],
        message,
        paused,
        time.monotonic() - started,
        clients.xero.budget_waited - waited,
    )


def _record(sessions: sessionmaker[Session], run_id: int, result: PassResult) -> None:
    report = result.report
    with sessions.begin() as session:
        run = runs.get_run(session, run_id)
        assert run is not None
        run.invoices_seen = sum(report.counts.values())
        run.invoices_created = report.count("created")
        run.invoices_updated = report.count("updated")
        run.invoices_failed = report.count("failed")
        counted = result.step("failed-count")
        if counted and counted.status is RunStatus.succeeded:
            run.failed_in_dynamics = counted.report.count(FAILED)
        run.xero_calls = result.xero_calls
        run.dataverse_calls = result.dataverse_calls
        run.steps = json.dumps([s.record() for s in result.steps])
        runs.finish_run(run, result.status, result.message or None)
        connection = connections.get_connection(session, run.connection_id)
        zone = connection.timezone if connection else "UTC"
        dashboard.add_to_day(
            session,
            run.connection_id,
            local_day(run.started_at, zone),
            run.invoices_created,
            run.invoices_updated,
            run.invoices_failed,
        )


def local_day(moment: datetime, zone: str) -> date:
    """The day it was where the connection is (UTC if its zone is unknown here)."""
    try:
        return moment.astimezone(ZoneInfo(zone)).date()
    except (KeyError, ValueError):
        return moment.astimezone(UTC).date()


def resume_command(name: str) -> str:
    """The command that resumes a paused connection, quoted for a shell."""
    return f"d365xero connection resume --name {shlex.quote(name)}"


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
    report: StepReport
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
