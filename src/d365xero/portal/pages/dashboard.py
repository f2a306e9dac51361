"""A connection's sync dashboard: synced, failed and waiting counts, a chart of the last 30
days, the failed invoices with their Sync History reasons and Retry, the dry run of the next
pass and the reconciliation report on request, and the last runs with their steps.

Where each number comes from (one place each, shared with the command line):
- synced, waiting, the chart, the runs: the store (store/dashboard.py, store/runs.py);
- failed: Dynamics' export status Failed with the latest failed Sync History row, the query
  `d365xero retry` makes (DynamicsGateway.failed_invoices), one per page view at most every
  FAILED_FOR seconds;
- Retry: jobs/retry_failed.py; the dry run: jobs/passes.dry_run_pass; reconcile:
  jobs/reconcile.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import structlog
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from d365xero.domain.retry import RetryPolicy
from d365xero.errors import ConfigurationError, D365XeroError
from d365xero.portal import chart
from d365xero.portal.http import db, form_fields, is_htmx, runtime
from d365xero.portal.ondemand import Brief, Job, Jobs, on_app
from d365xero.portal.owned import mine
from d365xero.portal.web import redirect, render
from d365xero.store import dashboard as stats
from d365xero.store import runs
from d365xero.store.connections import read_secrets
from d365xero.store.models import Connection, ConnectionStatus, SyncRun
from d365xero.sync.ports import FailedInvoice

log = structlog.get_logger(__name__)
router = APIRouter()

DAYS = 30
RUNS_SHOWN = 20
FAILED_FOR = 30.0  # seconds the failed invoices read from Dynamics are shown before asking again
FAILED_SHOWN = 200  # rows of the failed list on the page (the count is of all of them)
JOB_KINDS = {"dry-run": "Dry run of the next pass", "reconcile": "Reconciliation"}


def _zone(connection: Connection) -> ZoneInfo:
    try:
        return ZoneInfo(connection.timezone)
    except (KeyError, ValueError):  # a zone this machine does not know: UTC, said as such
        return ZoneInfo("UTC")


def _when(zone: ZoneInfo) -> Any:
    def when(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%d %b %Y %H:%M:%S") if moment else ""

    return when


def _can_reach_dynamics(connection: Connection) -> str | None:
    """Why Dynamics is not asked for this connection (None: it is)."""
    if not connection.dataverse_url or not connection.dataverse_connection_row_id:
        return "Dynamics is not connected yet: connect it on the Connect tab."
    if connection.status == ConnectionStatus.paused.value:
        return f"The connection is paused: {connection.status_message or 'reconnect it.'}"
    return None


def _clients(request: Request, connection: Connection) -> Any:
    rt = runtime(request)
    return rt.clients_for(connection, read_secrets(rt.box, connection))


@dataclass
class Failed:
    invoices: list[FailedInvoice]
    problem: str | None = None  # why they could not be read (the count is then unknown)
    age: float = 0.0


def _ask_failed(request: Request, connection: Connection) -> Failed:
    try:
        return Failed(_clients(request, connection).dynamics.failed_invoices(reasons=True))
    except D365XeroError as exc:
        return Failed([], f"Dynamics did not answer: {exc}")
    except Exception as exc:  # the rest of the page is still worth showing; the log has it
        log.exception("dashboard: reading failed invoices", connection_id=connection.id)
        return Failed([], f"Dynamics could not be read ({type(exc).__name__}).")


def _failed_brief(request: Request) -> Brief[Failed]:
    return on_app(request, "dashboard_failed", lambda: Brief(FAILED_FOR))


def _failed(request: Request, connection: Connection, last_pass: datetime | None) -> Failed:
    """The failed invoices, as read at most FAILED_FOR seconds ago and after the last pass; a
    failure to read them is kept as long (an outage, with the client's own retries, costs one
    slow view, not each)."""
    why = _can_reach_dynamics(connection)
    if why:
        return Failed([], why)
    brief = _failed_brief(request)
    found, age = brief.get(connection.id, lambda: _ask_failed(request, connection))
    if last_pass and last_pass > datetime.now(UTC) - timedelta(seconds=age):
        # A pass ended after this was read: its failures would be missing beside counts that
        # already show it (the browser journey test saw Synced 3, Failed 0).
        brief.drop(connection.id)
        found, age = brief.get(connection.id, lambda: _ask_failed(request, connection))
    return Failed(found.invoices, found.problem, age)


def record_url(connection: Connection, invoice_id: str) -> str:
    """The invoice's form in Dynamics (the record URL form of model-driven apps)."""
    base = (connection.dataverse_url or "").rstrip("/")
    return f"{base}/main.aspx?etn=invoice&id={quote(invoice_id)}&pagetype=entityrecord"


def _chart(session: Session, connection: Connection) -> chart.Chart:
    today = datetime.now(UTC).astimezone(_zone(connection)).date()
    first = today - timedelta(days=DAYS - 1)
    counts = stats.day_counts(session, connection.id, first, today)
    days = []
    for n in range(DAYS):
        day = first + timedelta(days=n)
        synced, failed = counts.get(day, (0, 0))
        days.append(chart.Day(day, synced, failed))
    return chart.draw(days)


def _jobs(request: Request) -> Jobs:
    return on_app(request, "dashboard_jobs", Jobs)


def _job_key(kind: str, connection_id: str) -> str:
    return f"{kind}:{connection_id}"


def _notices(request: Request) -> list[tuple[str, str]]:
    """What the last form did (after its redirect), from the query string it set."""
    retried = request.query_params.get("retried")
    if retried is None or not retried.isdigit():
        return []
    invoice = request.query_params.get("invoice")
    if invoice and retried == "0":
        return [("warn", f"{invoice} is not Failed: nothing to retry.")]
    return [
        (
            "ok",
            f"{retried} invoice(s) set back to export status No: the next pass sends them.",
        )
    ]


def _page(
    request: Request,
    session: Session,
    connection: Connection,
    notices: list[tuple[str, str]],
    status: int = 200,
) -> Response:
    zone = _zone(connection)
    recent = runs.recent_runs(session, connection.id, RUNS_SHOWN)
    last_pass = max((r.finished_at or r.started_at for r in recent), default=None)
    failed = _failed(request, connection, last_pass)
    jobs = _jobs(request)
    context = {
        "connection": connection,
        "tab": "Dashboard",
        "notices": notices,
        "synced": stats.synced_count(session, connection.id),
        "waiting": stats.waiting(session, connection.id),
        "failed": failed,
        "failed_shown": failed.invoices[:FAILED_SHOWN],
        "record_url": lambda invoice_id: record_url(connection, invoice_id),
        "chart": _chart(session, connection),
        "runs": [RunView.of(r) for r in recent],
        "when": _when(zone),
        "zone": zone.key,
        "jobs": {k: _job_view(jobs.latest(_job_key(k, connection.id))) for k in JOB_KINDS},
        "job_kinds": JOB_KINDS,
    }
    return render(request, "dashboard/index.html", context, status=status)


# Connection ids are UUIDs: these paths take only those (`:uuid`), so /connections/new and the
# like stay other pages'.
@router.get("/connections/{connection_id:uuid}", name="dashboard")
def dashboard(
    request: Request,
    connection: Connection = Depends(mine),
    session: Session = Depends(db, scope="function"),
) -> Response:
    return _page(request, session, connection, _notices(request))


# -- retry -----------------------------------------------------------------------------------


@router.post("/connections/{connection_id:uuid}/retry", name="dashboard-retry")
def retry(
    request: Request,
    fields: dict[str, str] = Depends(form_fields),
    connection: Connection = Depends(mine),
    session: Session = Depends(db, scope="function"),
) -> Response:
    """Failed back to export status No (one invoice by its number, or all), with the retry
    backoff forgotten: what `d365xero retry` does."""
    from d365xero.jobs.retries import StoreRetries
    from d365xero.jobs.retry_failed import reset_failed

    number, everything = fields.get("invoice", ""), fields.get("all") == "yes"
    if bool(number) == everything:
        notice = ("bad", "Choose one invoice to retry, or Retry all.")
        return _page(request, session, connection, [notice], status=400)
    if why := _can_reach_dynamics(connection):
        return _page(request, session, connection, [("bad", why)], status=409)
    # Clearing rows needs no policy: the default one is never consulted.
    retries = StoreRetries(runtime(request).sessions, connection.id, RetryPolicy())
    try:
        result = reset_failed(_clients(request, connection), retries, number or None)
    except ConfigurationError as exc:
        return _page(request, session, connection, [("bad", str(exc))], status=400)
    except D365XeroError as exc:
        notice = ("bad", f"Nothing was retried: Dynamics did not answer ({exc}).")
        return _page(request, session, connection, [notice], status=502)
    _failed_brief(request).drop(connection.id)
    target = f"/connections/{connection.id}?retried={len(result.reset)}"
    if number:
        target += f"&invoice={quote(number)}"
    return redirect(target + "#failed")


# -- the dry run and the reconciliation, on request --------------------------------------------


@dataclass
class JobView:
    running: bool
    result: Any = None
    error: str | None = None
    seconds: float = 0.0


def _job_view(job: Job | None) -> JobView | None:
    if job is None:
        return None
    if not job.done:
        return JobView(True)
    result, error = job.outcome()
    seconds = (job.finished or job.started) - job.started
    if error is None:
        return JobView(False, result, None, seconds)
    if isinstance(error, D365XeroError):
        return JobView(False, None, str(error), seconds)
    log.error("dashboard job failed", error=repr(error))
    return JobView(False, None, f"It stopped with an unexpected error ({type(error).__name__}).")


def _work(request: Request, kind: str, connection: Connection) -> Any:
    rt, connection_id = runtime(request), connection.id
    if kind == "dry-run":
        from d365xero.jobs.passes import dry_run_pass

        return lambda: dry_run_pass(rt, connection_id)
    from d365xero.jobs.reconcile import reconcile_connection

    clients = _clients(request, connection)
    return lambda: reconcile_connection(clients)


def _job_response(
    request: Request, connection: Connection, kind: str, job: JobView | None, status: int = 200
) -> Response:
    context = {
        "connection": connection,
        "tab": "Dashboard",
        "kind": kind,
        "title": JOB_KINDS[kind],
        "job": job,
        "when": _when(_zone(connection)),
    }
    template = "dashboard/_job.html" if is_htmx(request) else "dashboard/job.html"
    return render(request, template, context, status=status)


def start_job(request: Request, kind: str, connection: Connection) -> Response:
    """Run it (or join the one running), waiting a bounded time for its result."""
    if why := _can_reach_dynamics(connection):
        return _job_response(request, connection, kind, JobView(False, None, why), status=409)
    try:
        work = _work(request, kind, connection)
    except D365XeroError as exc:
        return _job_response(request, connection, kind, JobView(False, None, str(exc)), 409)
    job = _jobs(request).start(_job_key(kind, connection.id), work)
    return _job_response(request, connection, kind, _job_view(job))


def job_result(request: Request, kind: str, connection: Connection) -> Response:
    """The latest one's result, or that it is still running (HTMX polls this)."""
    job = _jobs(request).latest(_job_key(kind, connection.id))
    return _job_response(request, connection, kind, _job_view(job))


def _job_routes(kind: str) -> None:
    """POST runs it, GET shows the latest result (explicit paths: the other tabs of
    /connections/{id}/... are other pages')."""
    path = f"/connections/{{connection_id:uuid}}/{kind}"

    def start(request: Request, connection: Connection = Depends(mine)) -> Response:
        return start_job(request, kind, connection)

    def result(request: Request, connection: Connection = Depends(mine)) -> Response:
        return job_result(request, kind, connection)

    router.add_api_route(path, start, methods=["POST"], name=f"dashboard-{kind}")
    router.add_api_route(path, result, methods=["GET"], name=f"dashboard-{kind}-result")


for _kind in JOB_KINDS:
    _job_routes(_kind)


# -- runs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepView:
    name: str
    status: str
    counts: dict[str, int]
    xero_calls: int
    dataverse_calls: int
    message: str


@dataclass(frozen=True)
class RunView:
    run: SyncRun
    steps: list[StepView]

    @classmethod
    def of(cls, run: SyncRun) -> RunView:
        return cls(run, parse_steps(run.steps))

    @property
    def seconds(self) -> float | None:
        if self.run.finished_at is None:
            return None
        return (self.run.finished_at - self.run.started_at).total_seconds()


def parse_steps(text: str | None) -> list[StepView]:
    """The run's steps as jobs/passes.StepResult.record wrote them; anything else, skipped."""
    try:
        found = json.loads(text) if text else []
    except ValueError:
        return []
    steps = []
    for item in found if isinstance(found, list) else []:
        if not isinstance(item, dict):
            continue
        counts = item.get("counts")
        counts = counts if isinstance(counts, dict) else {}
        steps.append(
            StepView(
                str(item.get("name", "")),
                str(item.get("status", "")),
                {str(k): int(v) for k, v in counts.items() if isinstance(v, int)},
                int(item.get("xero_calls") or 0),
                int(item.get("dataverse_calls") or 0),
                str(item.get("message") or ""),
            )
        )
    return steps


@router.get("/connections/{connection_id:uuid}/runs/{run_id}", name="dashboard-run")
def run_detail(
    request: Request,
    run_id: str,
    connection: Connection = Depends(mine),
    session: Session = Depends(db, scope="function"),
) -> Response:
    found = (
        stats.connection_run(session, connection.id, int(run_id))
        if run_id.isdigit() and len(run_id) < 19
        else None
    )
    if found is None:
        raise HTTPException(404, "There is no such run.")
    context = {
        "connection": connection,
        "tab": "Dashboard",
        "view": RunView.of(found),
        "when": _when(_zone(connection)),
        "zone": _zone(connection).key,
    }
    return render(request, "dashboard/run.html", context)
