"""The distributed queue of `d365xero worker`: procrastinate on the store's PostgreSQL.

- `sync_connection(connection_id)`: one pass, deferred under procrastinate's `lock` (the
  connection id: two workers never run one connection's jobs at once; the pass lock in the store
  stands behind it for passes started elsewhere) and `queueing_lock` (never queued twice: a
  burst of webhooks while one job waits is one job). Failures are retried with backoff.
- `enqueue_due` (every DUE_CHECK_SECONDS, periodic): defers a job for each connection whose
  last finished run is older than its interval (default 5 minutes) and that has no sync job
  waiting or running. Every 5 seconds, so a pass starts at most about 5 s after it is due
  (every minute, passes started up to 60 s late: docs/BENCHMARKS.md); the check is one query
  over the connections (each one's latest run found through its index) and one over the
  queue's waiting and running jobs.
- `recover_stalled` (every 5 seconds): the jobs of workers that died (SIGKILL, a lost machine:
  no heartbeat for D365XERO_WORKER_STALLED_SECONDS) go back to the queue; until then the
  connection's procrastinate lock keeps its other jobs waiting. A pass cut short anywhere
  leaves nothing the next one cannot finish: every Xero write went through the ledger first
  (jobs.ledger).

Sync tasks run in procrastinate's threads (`--concurrency K`: K passes at once per worker).
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
import structlog
from procrastinate import App, PsycopgConnector, RetryStrategy
from procrastinate.exceptions import AlreadyEnqueued, UniqueViolation
from procrastinate.jobs import Status

from d365xero.errors import ConfigurationError
from d365xero.store import connections
from d365xero.store.models import Connection, ConnectionStatus, SyncRun, utcnow

if TYPE_CHECKING:
    from d365xero.jobs.runtime import Runtime

log = structlog.get_logger(__name__)

SYNC_TASK = "d365xero.sync_connection"
DUE_TASK = "d365xero.enqueue_due"
STALLED_TASK = "d365xero.recover_stalled"
NEEDS_POSTGRES = (
    "the worker needs PostgreSQL (procrastinate's queue lives there): set "
    "D365XERO_DATABASE_URL to a postgresql+psycopg:// URL, then run `d365xero db upgrade`"
)
# 5 attempts, then 10, 20, 40, 80 seconds apart (procrastinate's exponential_wait ** attempt)
RETRY = RetryStrategy(max_attempts=5, exponential_wait=2, wait=8)
DUE_CHECK_SECONDS = 5  # how often the workers look for connections that are due
# The periodic checks go before waiting passes (higher runs first): behind a queue of passes a
# check would wait for all of them, and the passes it should queue would start that much late.
CHECKS_FIRST = 10


def libpq_dsn(url: str) -> str:
    """The libpq form of a SQLAlchemy PostgreSQL URL (query options such as search_path kept);
    ConfigurationError for any other database."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ConfigurationError(NEEDS_POSTGRES)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def queue_app(url: str, runtime: Runtime | None = None, *, pool_size: int = 4) -> App:
    """The procrastinate app on the store at `url`. With a runtime its tasks can run (a worker);
    without, it can only defer (serve --no-scheduler)."""
    connector = PsycopgConnector(conninfo=libpq_dsn(url), min_size=1, max_size=pool_size)
    app = App(connector=connector)

    @app.task(name=SYNC_TASK, retry=RETRY)
    def sync_connection(connection_id: str) -> str:
        if runtime is None:
            raise ConfigurationError("this process only defers jobs; a worker runs them")
        return _sync(runtime, connection_id)

    @app.periodic(cron=f"* * * * * */{DUE_CHECK_SECONDS}", periodic_id="due")
    @app.task(name=DUE_TASK, priority=CHECKS_FIRST)
    def enqueue_due(timestamp: int) -> None:
        if runtime is not None:
            defer_due(app, runtime)

    @app.periodic(cron="* * * * * */5", periodic_id="stalled")  # every 5 seconds
    @app.task(name=STALLED_TASK, priority=CHECKS_FIRST)
    async def recover_stalled(timestamp: int) -> None:
        # async: procrastinate's stalled-job API is async only (the one coroutine here)
        stalled_after = runtime.settings.worker_stalled_seconds if runtime else 30.0
        found = await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after)
        for job in found:
            try:
                await app.job_manager.retry_job(job)
            except UniqueViolation:  # a pass of that connection is queued already: it will do
                await app.job_manager.finish_job(job, Status.FAILED, delete_job=False)
            log.warning("job of a dead worker taken back", job=job.id, task=job.task_name)

    return app


def _sync(runtime: Runtime, connection_id: str) -> str:
    from d365xero.jobs.passes import run_pass
    from d365xero.jobs.scheduler import summary

    result = run_pass(runtime, connection_id)
    line = summary(result)
    log.info("pass", connection=result.connection_name, status=result.status.value, line=line)
    return line


def defer_pass(app: App, connection_id: str) -> bool:
    """Queue a pass of the connection unless one is already queued; True if this one was."""
    task = app.configure_task(
        SYNC_TASK, lock=connection_id, queueing_lock=connection_id, task_kwargs={}
    )
    try:
        task.defer(connection_id=connection_id)
    except AlreadyEnqueued:
        return False
    return True


def due_connections(runtime: Runtime, busy: frozenset[str] = frozenset()) -> list[str]:
    """Active, entitled connections whose last finished run is older than their interval,
    leaving out those in `busy` (a job of theirs is waiting or running)."""
    now = utcnow()
    # The latest finished run of each connection, read backwards along its (connection_id,
    # started_at) index: one short probe per connection however many runs the store keeps.
    # Passes of a connection never overlap, so the latest started is the latest finished.
    finished = (
        sa.select(SyncRun.finished_at)
        .where(SyncRun.connection_id == Connection.id, SyncRun.finished_at.is_not(None))
        .order_by(SyncRun.started_at.desc())
        .limit(1)
        .correlate(Connection)
        .scalar_subquery()
    )
    query = sa.select(Connection, finished).where(
        Connection.status == ConnectionStatus.active.value
    )
    with runtime.sessions() as session:
        due = []
        for connection, last in session.execute(query).all():
            if connection.id in busy or not connections.connection_entitlement(connection).active:
                continue
            if last is None or last + timedelta(seconds=connection.sync_interval) <= now:
                due.append(connection.id)
        return due


def queued_connections(app: App) -> frozenset[str]:
    """The connections with a sync job waiting or running (its lock is the connection id)."""
    rows = app.connector.get_sync_connector().execute_query_all(
        query="SELECT DISTINCT lock FROM procrastinate_jobs WHERE task_name = %(task)s "
        "AND status IN ('todo', 'doing') AND lock IS NOT NULL",
        task=SYNC_TASK,
    )
    return frozenset(str(row["lock"]) for row in rows)


def defer_due(app: App, runtime: Runtime) -> int:
    """A job for each due connection that has none waiting or running: a long pass is not
    followed by another queued behind it only because it was still running at a check."""
    due = due_connections(runtime, queued_connections(app))
    queued = sum(defer_pass(app, connection_id) for connection_id in due)
    if queued:
        log.info("passes queued", count=queued)
    return queued


class QueuedPassRequests:
    """PassRequests (jobs.dispatch) that queue a job for the workers: `serve --no-scheduler`
    answers its webhooks this way. Coalesced by the queueing lock: one waiting job per
    connection, whatever the burst."""

    def __init__(self, url: str) -> None:
        """The queue in the store at `url` (PostgreSQL); close() when done."""
        self._app = queue_app(url, pool_size=2).open()

    def close(self) -> None:
        self._app.close()

    def request_pass(
        self, connection_id: str, *, reason: str, record_ids: Sequence[str] = ()
    ) -> None:
        queued = defer_pass(self._app, connection_id)
        log.info("pass requested", connection=connection_id, reason=reason, queued=queued)


def install_schema(url: str) -> bool:
    """procrastinate's tables in the store's PostgreSQL, unless there already; True if added."""
    app = queue_app(url)
    with app.open():
        connector = app.connector.get_sync_connector()
        found = connector.execute_query_one(
            query="SELECT to_regclass('procrastinate_jobs') IS NOT NULL AS present"
        )
        if found["present"]:
            return False
        app.schema_manager.apply_schema()
    return True


def _stop_before_start(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def run_worker(runtime: Runtime, concurrency: int) -> None:
    """Work the queue until SIGTERM or SIGINT: then running passes finish, and nothing new
    starts."""
    logging.getLogger("procrastinate").setLevel(logging.INFO)
    # Until procrastinate's own handlers take over, a stop request ends the process cleanly:
    # nothing has started, so there is nothing to finish (a service manager sees exit 0).
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, _stop_before_start)
    app = queue_app(runtime.settings.database(), runtime, pool_size=concurrency + 3)
    settings = runtime.settings
    log.info("worker ready", concurrency=concurrency)
    app.run_worker(
        concurrency=concurrency,
        # The runs table keeps each pass's record; a finished job row is of no further use,
        # and the periodic checks alone would add about 35,000 a day.
        delete_jobs="successful",
        update_heartbeat_interval=settings.worker_heartbeat_seconds,
        stalled_worker_timeout=settings.worker_stalled_seconds,
    )
