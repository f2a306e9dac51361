"""The distributed queue of `d365xero worker`: procrastinate on the store's PostgreSQL.

- `sync_connection(connection_id)`: one pass, deferred under procrastinate's `lock` (the
  connection id: two workers never run one connection's jobs at once; the pass lock in the store
  stands behind it for passes started elsewhere) and `queueing_lock` (never queued twice: a
  burst of webhooks while one job waits is one job). Failures are retried with backoff.
- `enqueue_due` (every minute, periodic): defers a job for each connection whose last finished
  run is older than its interval (default 5 minutes).
- `recover_stalled` (every 5 seconds): the jobs of workers that died (SIGKILL, a lost machine:
  no heartbeat for D365XERO_WORKER_STALLED_SECONDS) go back to the queue; until then the
  connection's procrastinate lock keeps its other jobs waiting. A pass cut short anywhere
  leaves nothing the next one cannot finish: every Xero write went through the ledger first
  (jobs.ledger).

Sync tasks run in procrastinate's threads (`--concurrency K`: K passes at once per worker).
"""

from __future__ import annotations

import logging
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

    @app.periodic(cron="* * * * *", periodic_id="due")
    @app.task(name=DUE_TASK)
    def enqueue_due(timestamp: int) -> None:
        if runtime is not None:
            defer_due(app, runtime)

    @app.periodic(cron="* * * * * */5", periodic_id="stalled")  # every 5 seconds
    @app.task(name=STALLED_TASK)
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


def due_connections(runtime: Runtime) -> list[str]:
    """Active, entitled connections whose last finished run is older than their interval."""
    now = utcnow()
    last = (
        sa.select(SyncRun.connection_id, sa.func.max(SyncRun.finished_at).label("finished"))
        .group_by(SyncRun.connection_id)
        .subquery()
    )
    query = (
        sa.select(Connection, last.c.finished)
        .outerjoin(last, last.c.connection_id == Connection.id)
        .where(Connection.status == ConnectionStatus.active.value)
    )
    with runtime.sessions() as session:
        rows = session.execute(query).all()
        due = []
        for connection, finished in rows:
            if not connections.connection_entitlement(connection).active:
                continue
            if finished is None or finished + timedelta(seconds=connection.sync_interval) <= now:
                due.append(connection.id)
        return due


def defer_due(app: App, runtime: Runtime) -> int:
    queued = sum(defer_pass(app, connection_id) for connection_id in due_connections(runtime))
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


def run_worker(runtime: Runtime, concurrency: int) -> None:
    """Work the queue until SIGTERM or SIGINT: then running passes finish, and nothing new
    starts."""
    logging.getLogger("procrastinate").setLevel(logging.INFO)
    app = queue_app(runtime.settings.database(), runtime, pool_size=concurrency + 3)
    settings = runtime.settings
    app.run_worker(
        concurrency=concurrency,
        update_heartbeat_interval=settings.worker_heartbeat_seconds,
        stalled_worker_timeout=settings.worker_stalled_seconds,
    )
