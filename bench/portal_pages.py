"""Server time of the dashboard's pages (issue 11, item 8): a store with --connections
connections (10 a user) and --runs sync runs, --busy of them the benchmarked connection's (a
pass every few minutes for a month), its invoice writes and retries; the benchmarked connection
is a real one, made against both emulators (in this process, over TLS), with --failed invoices
failed by a real pass (their Sync History in Dynamics). Each page is requested --requests times
through the real app (create_app); the time from the request entering the app to the last byte
of its response is measured (no network, no client), with the process's CPU time meanwhile
(on a shared machine the wall time includes waiting for a core), and p50/p95 printed.

    .venv/bin/python -m bench.portal_pages [--postgres] [--requests 200]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from starlette.testclient import TestClient

from d365xero.config import Settings
from d365xero.dataverse.auth import DataverseTokens
from d365xero.dataverse.batch import Operation
from d365xero.dataverse.client import DataverseClient
from d365xero.demo import demo_connection
from d365xero.emulators.core.server import ServerThread
from d365xero.emulators.core.tls import LocalCA
from d365xero.emulators.dataverse.app import create_app as create_dataverse
from d365xero.emulators.xero.app import create_app as create_xero
from d365xero.jobs.passes import local_day, run_pass
from d365xero.jobs.runtime import Runtime, open_runtime
from d365xero.jobs.setup import add_connection
from d365xero.portal import auth
from d365xero.portal.app import create_app
from d365xero.solution import schema
from d365xero.store.models import (
    Connection,
    InvoiceRetry,
    SyncDay,
    SyncRun,
    User,
    WriteState,
    XeroWrite,
)
from d365xero.store.sessions import start_session
from d365xero.trust import ca_bundle_file, ssl_context

CLIENT_ID, CLIENT_SECRET, TENANT = "d365xero-demo", "demo-secret", "demo-tenant"
PER_USER = 10
CHUNK = 5000
STEPS = json.dumps(
    [
        {
            "name": n,
            "status": "succeeded",
            "counts": c,
            "xero_calls": x,
            "dataverse_calls": d,
            "message": "",
        }
        for n, c, x, d in (
            ("reference", {}, 0, 0),
            ("push", {"created": 2, "updated": 1}, 3, 4),
            ("backsync", {"updated": 1}, 1, 1),
            ("cancellations", {}, 0, 1),
            ("failed-count", {"export-failed": 2}, 0, 1),
        )
    ]
)


def _postgres_url(base: str) -> tuple[str, Callable[[], None]]:
    """A fresh schema in the PostgreSQL database, and how to drop it."""
    schema_name = f"bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.execute(sa.text(f'create schema "{schema_name}"'))

    def drop() -> None:
        with engine.begin() as conn:
            conn.execute(sa.text(f'drop schema "{schema_name}" cascade'))
        engine.dispose()

    url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema_name}"})
    return url.render_as_string(hide_password=False), drop


@contextmanager
def real_connection(folder: Path, database_url: str) -> Iterator[tuple[Runtime, str, Any]]:
    """Both emulators on loopback TLS ports, the store, and one connection made as
    `connection add` makes it: (runtime, its id, a Dataverse client for seeding)."""
    ca = LocalCA.load_or_create(folder)
    xero = create_xero(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    xero.state.emulator.seed()
    dataverse = create_dataverse(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, tenant=TENANT)
    dataverse.state.emulator.seed()
    settings = Settings(data_dir=folder, database_url=database_url, ca_bundle=ca.cert_path)
    with (
        ServerThread(xero, tls=ca.issue("xero")) as xero_server,
        ServerThread(dataverse, tls=ca.issue("dataverse")) as dataverse_server,
        httpx.Client(verify=ssl_context(ca.cert_path)) as http,
    ):
        runtime = open_runtime(settings)
        made, _ = add_connection(
            settings,
            runtime.sessions,
            runtime.box,
            demo_connection(xero_server.url, dataverse_server.url),
        )
        tokens = DataverseTokens(
            org_url=dataverse_server.url,
            tenant=TENANT,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            authority=dataverse_server.url,
            ca_bundle=ca_bundle_file(ca.cert_path, folder),
        )
        try:
            yield runtime, made.id, DataverseClient(http, dataverse_server.url, tokens)
        finally:
            runtime.close()


def fail_invoices(runtime: Runtime, connection_id: str, client: DataverseClient, n: int) -> None:
    """`n` invoices without a price list, failed by a real pass (Sync History says why)."""
    with runtime.sessions() as session:
        row_id = session.get(Connection, connection_id).dataverse_connection_row_id  # type: ignore[union-attr]
    [account] = client.get("accounts", {"$select": "accountid", "$top": "1"})["value"]
    today = datetime.now(UTC).date().isoformat()
    sales = schema.option_value(schema.INVOICE_TYPE, "Sales")
    body = {
        "customerid_account@odata.bind": f"/accounts({account['accountid']})",
        "dxc_ConnectionId@odata.bind": f"/dxc_connections({row_id})",
        "datedelivered": today,
        "dxc_invoicetype": sales,
    }
    client.batch([[Operation("POST", "invoices", {**body, "name": f"F{i}"})] for i in range(n)])
    run_pass(runtime, connection_id)


def _rows(make: Callable[[int], dict[str, Any]], count: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, count, CHUNK):
        yield [make(i) for i in range(start, min(start + CHUNK, count))]


def seed_store(runtime: Runtime, benched: str, args: argparse.Namespace) -> str:
    """Users, connections, runs, writes and retries in bulk; returns the benched user's id."""
    now = datetime.now(UTC)
    sealed = runtime.box.seal({})
    users = [str(uuid.uuid4()) for _ in range(max(args.connections // PER_USER, 1))]
    ids = [benched] + [str(uuid.uuid4()) for _ in range(args.connections - 1)]
    with runtime.sessions.begin() as session:
        session.execute(
            sa.insert(User),
            [
                {"id": u, "email": f"u{n}@example.com", "password_hash": "x", "created_at": now}
                for n, u in enumerate(users)
            ],
        )
        session.get(Connection, benched).user_id = users[0]  # type: ignore[union-attr]
        session.execute(
            sa.insert(Connection),
            [
                {
                    "id": c,
                    "user_id": users[n // PER_USER],
                    "name": f"Conn {n}",
                    "name_key": f"conn {n}",
                    "secrets": sealed,
                    "status": "active",
                    "created_at": now,
                    "updated_at": now,
                    "plan": "trial",
                    "timezone": "Europe/London",
                }
                for n, c in enumerate(ids[1:], start=1)
            ],
        )
    others = args.runs - args.busy

    def run(i: int) -> dict[str, Any]:
        busy = i < args.busy
        connection = benched if busy else ids[1 + i % (len(ids) - 1)]
        # The benched connection's passes every few minutes over 30 days; others' over 60.
        span = timedelta(days=30) if busy else timedelta(days=60)
        share = (i if busy else i - args.busy) / max(args.busy if busy else others, 1)
        started = now - span * share
        return {
            "connection_id": connection,
            "started_at": started,
            "finished_at": started + timedelta(seconds=2),
            "status": "succeeded",
            "invoices_seen": 3,
            "invoices_created": 2,
            "invoices_updated": 1,
            "invoices_failed": int(i % 7 == 0),
            "failed_in_dynamics": 2,
            "xero_calls": 4,
            "dataverse_calls": 7,
            "message": None,
            "steps": STEPS,
        }

    def write(i: int) -> dict[str, Any]:
        return {
            "connection_id": benched,
            "kind": "invoice",
            "source_id": str(uuid.uuid4()),
            "idempotency_key": f"k{i // 50}",
            "request_hash": "h" * 64,
            "state": WriteState.applied.value,
            "xero_id": str(uuid.uuid4()),
            "created_at": now,
            "updated_at": now,
        }

    def retry(i: int) -> dict[str, Any]:
        return {
            "connection_id": benched,
            "invoice_id": str(uuid.uuid4()),
            "attempts": 2,
            "first_failed_at": now,
            "next_attempt_at": now + timedelta(minutes=i),
            "last_reason": "Xero answered 503",
        }

    days: dict[tuple[str, date], list[int]] = {}
    for chunk in _rows(run, args.runs):
        for row in chunk:  # what jobs/passes._record adds to sync_days, pass by pass
            key = (row["connection_id"], local_day(row["started_at"], "Europe/London"))
            totals = days.setdefault(key, [0, 0, 0])
            totals[0] += row["invoices_created"]
            totals[1] += row["invoices_updated"]
            totals[2] += row["invoices_failed"]
        with runtime.sessions.begin() as session:
            session.execute(sa.insert(SyncRun), chunk)
    with runtime.sessions.begin() as session:  # the real pass's day joins the seeded ones
        for kept in session.scalars(sa.select(SyncDay)):
            totals = days.setdefault((kept.connection_id, kept.day), [0, 0, 0])
            totals[0], totals[1] = totals[0] + kept.created, totals[1] + kept.updated
            totals[2] += kept.failed
        session.execute(sa.delete(SyncDay))
    day_rows = [
        {"connection_id": c, "day": d, "created": t[0], "updated": t[1], "failed": t[2]}
        for (c, d), t in days.items()
    ]
    for table, rows in (
        (XeroWrite, [write(i) for i in range(args.writes)]),
        (InvoiceRetry, [retry(i) for i in range(50)]),
        (SyncDay, day_rows),
    ):
        for start in range(0, len(rows), CHUNK):
            with runtime.sessions.begin() as session:
                session.execute(sa.insert(table), rows[start : start + CHUNK])
    with runtime.engine.begin() as conn:  # fresh statistics, as a live database has
        conn.execute(sa.text("ANALYZE"))
    return users[0]


class Timed:
    """The app, with the time each request spent inside it."""

    def __init__(self, app: Any) -> None:
        self.app, self.last, self.cpu = app, 0.0, 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # CPU of the whole process: the client only waits meanwhile, and the emulators are
        # idle but for the request that asks Dynamics (whose CPU is then counted too).
        start, cpu = time.perf_counter(), time.process_time()
        await self.app(scope, receive, send)
        self.last, self.cpu = time.perf_counter() - start, time.process_time() - cpu


def _cuts(values: list[float]) -> tuple[float, float]:
    return statistics.median(values), statistics.quantiles(values, n=20)[18]


def measure(
    client: TestClient, timed: Timed, path: str, n: int, before: Callable[[], None], want: int
) -> tuple[tuple[float, float], tuple[float, float]]:
    """(p50, p95) of the wall time and of the CPU time, in ms."""
    times, cpus = [], []
    for i in range(n + 5):
        before()
        got = client.get(path, headers={"accept": "text/html"})
        if got.status_code != want:
            raise SystemExit(f"{path}: {got.status_code} {got.text[:300]}")
        if i >= 5:  # warmed up: templates compiled, statements cached
            times.append(timed.last * 1000)
            cpus.append(timed.cpu * 1000)
    return _cuts(times), _cuts(cpus)


def pages(runtime: Runtime, benched: str, user_id: str, args: argparse.Namespace) -> list[Any]:
    app = create_app(runtime.settings, runtime=runtime)
    timed = Timed(app)
    client = TestClient(timed, follow_redirects=False)
    with runtime.sessions.begin() as session:
        token, _ = start_session(session, session.get(User, user_id), remember=False)  # type: ignore[arg-type]
        run_id = session.scalar(
            sa.select(sa.func.max(SyncRun.id)).where(SyncRun.connection_id == benched)
        )
        stranger = session.scalar(
            sa.select(Connection.id).where(Connection.user_id != user_id).limit(1)
        )
    client.cookies.set(auth.COOKIE, token)
    base = f"/connections/{benched}"
    first = client.get(base).text
    if f"Retry all ({args.failed})" not in first:  # the page measured is the real one
        raise SystemExit(f"the dashboard does not list {args.failed} failed invoices")
    csrf = first.split('"X-CSRF-Token": "')[1].split('"')[0]
    for kind in ("dry-run", "reconcile"):
        client.post(f"{base}/{kind}", data={"csrf_token": csrf})

    def nothing() -> None:
        return None

    def forget() -> None:
        app.state.dashboard_failed.drop(benched)

    found: list[Any] = [
        ("dashboard (Dynamics answer kept)", base, nothing, 200),
        ("dashboard (Dynamics asked)", base, forget, 200),
        ("run detail", f"{base}/runs/{run_id}", nothing, 200),
        ("dry-run result", f"{base}/dry-run", nothing, 200),
        ("reconcile result", f"{base}/reconcile", nothing, 200),
        ("another user's dashboard (404)", f"/connections/{stranger}", nothing, 404),
    ]
    if any(getattr(r, "name", None) == "connections" for r in app.routes):
        found.append(("connections list", "/connections", nothing, 200))
    results = []
    for label, path, before, want in found:
        (p50, p95), (c50, c95) = measure(client, timed, path, args.requests, before, want)
        results.append(
            {
                "page": label,
                "p50_ms": round(p50, 1),
                "p95_ms": round(p95, 1),
                "cpu_p50_ms": round(c50, 1),
                "cpu_p95_ms": round(c95, 1),
            }
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--busy", type=int, default=10_000, help="runs of the benched one")
    parser.add_argument("--writes", type=int, default=20_000, help="its invoice writes")
    parser.add_argument("--failed", type=int, default=50, help="its failed invoices")
    parser.add_argument("--requests", type=int, default=200, help="timed requests a page")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL, not SQLite")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    drop: Callable[[], None] = lambda: None  # noqa: E731
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/store.sqlite3"
        if args.postgres:
            base = os.environ.get(
                "D365XERO_TEST_POSTGRES_URL", "postgresql+psycopg://127.0.0.1:5432/test"
            )
            url, drop = _postgres_url(base)
        try:
            with real_connection(Path(folder), url) as (runtime, benched, client):
                started = time.perf_counter()
                # First the real pass (the seeded writes name no invoice Xero has).
                fail_invoices(runtime, benched, client, args.failed)
                failed_in = time.perf_counter() - started
                user_id = seed_store(runtime, benched, args)
                print(
                    f"a real pass failed {args.failed} invoices in {failed_in:.1f} s; the store "
                    f"seeded in {time.perf_counter() - started - failed_in:.1f} s "
                    f"({'PostgreSQL' if args.postgres else 'SQLite'}: {args.connections} "
                    f"connections, {args.runs} runs, {args.writes} invoice writes)"
                )
                results = pages(runtime, benched, user_id, args)
        finally:
            drop()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'page':36} {'p50 ms':>7} {'p95 ms':>7} {'CPU p50':>8} {'CPU p95':>8}")
    for row in results:
        print(
            f"{row['page']:36} {row['p50_ms']:7.1f} {row['p95_ms']:7.1f} "
            f"{row['cpu_p50_ms']:8.1f} {row['cpu_p95_ms']:8.1f}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
