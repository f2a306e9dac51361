"""Many connections on `d365xero worker` processes (PostgreSQL, procrastinate), each connection
its own emulated Xero organisation (tenant) and Dataverse organisation (bench/orgs.py: one
process per service, an origin per organisation).

- idle: N connections with nothing to do, each due every --interval seconds (their previous
  passes spread evenly over one interval, as in a deployment that has run a while), on ONE
  worker. Measured after the first cycle (which builds each connection's clients): the
  worker's RSS (now and peak), its CPU per pass (the whole process over the window divided by
  the passes in it: queue polling and periodic tasks included), the Xero and Dataverse calls
  of a pass (the store's runs, checked against the emulators' counts, token calls apart), and
  how late each pass starts (its run's start minus the previous run's end plus the interval).
- busy: C connections with --invoices ready invoices each (warm: contacts and items in Xero,
  and each connection has had a pass before), the Xero emulators enforcing their limits (60
  calls a minute per tenant); 1, 2, 4 worker processes in turn on the same stack, each for a
  --window of seconds: invoices created in Xero a minute, each worker's CPU, 429s.

    .venv/bin/python -m bench.scale idle --connections 100 --interval 30       # ~3 minutes
    .venv/bin/python -m bench.scale busy --connections 50 --invoices 100        # ~4 minutes
    .venv/bin/python -m bench.scale idle --connections 1000 --interval 300 --cycles 2  # full
    .venv/bin/python -m bench.scale busy --connections 200 --invoices 100 --window 60  # sizes
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from bench.backlog import Shape, load_invoices, prepare
from bench.push import machine, source
from bench.stack import CLIENT_ID, CLIENT_SECRET, D365XERO, TENANT, Emulator, Stack, env
from bench.workers import _drop, _schema
from d365xero.trust import ssl_context

START_TIMEOUT = 300.0


@dataclass
class Farm:
    """One bench/orgs.py process: N organisations of one service."""

    service: str
    process: subprocess.Popen[str]
    ports: list[int]
    control: int
    ca: Path

    def url(self, n: int) -> str:
        return f"https://127.0.0.1:{self.ports[n]}"

    def ask(self, method: str, path: str, body: Any = None) -> Any:
        with httpx.Client(verify=ssl_context(self.ca), timeout=120) as http:
            response = http.request(method, f"https://127.0.0.1:{self.control}/{path}", json=body)
            response.raise_for_status()
            return response.json() if response.content else None

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a live process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mib(pid: int) -> tuple[float, float]:
    """(RSS now, peak RSS) of a live process, MiB."""
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return (int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024)


def start_farm(service: str, count: int, data_dir: Path, log: Path, seed: bool) -> Farm:
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.orgs", service, "--count", str(count), "--data-dir",
         str(data_dir), *(["--seed"] if seed else [])],
        stdout=subprocess.PIPE, stderr=log.open("w"), text=True, env=env(data_dir),
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        raise RuntimeError(f"bench.orgs {service} did not start: {log.read_text()}")
    ready = json.loads(line)
    return Farm(service, process, ready["ports"], ready["control"], Path(ready["ca"]))


@contextmanager
def farms(count: int, workdir: Path, seed: bool = False) -> Iterator[tuple[Farm, Farm]]:
    emulators = workdir / "emulators"
    emulators.mkdir(parents=True)
    # The CA first, so that both processes issue their certificates from the same one.
    from d365xero.emulators.core.tls import LocalCA

    LocalCA.load_or_create(emulators)
    xero = start_farm("xero", count, emulators, workdir / "xero.log", False)
    try:
        dataverse = start_farm("dataverse", count, emulators, workdir / "dataverse.log", seed)
    except BaseException:
        xero.stop()
        raise
    try:
        yield xero, dataverse
    finally:
        xero.stop()
        dataverse.stop()


def connection_name(n: int) -> str:
    return f"Bench {n:04d}"


def make_connections(url: str, workdir: Path, xero: Farm, dv: Farm, count: int) -> list[str]:
    """`connection add` for each organisation pair, in this process (its own function), four at
    a time; the connection ids in organisation order."""
    from d365xero.config import get_settings
    from d365xero.jobs.queue import install_schema
    from d365xero.jobs.runtime import open_runtime
    from d365xero.jobs.setup import NewConnection, add_connection

    settings = get_settings(data_dir=workdir / "connector", database_url=url, ca_bundle=xero.ca)
    runtime = open_runtime(settings)
    install_schema(url)

    def add(n: int) -> str:
        new = NewConnection(
            name=connection_name(n),
            xero_url=xero.url(n),
            xero_client_id=CLIENT_ID,
            xero_client_secret=CLIENT_SECRET,
            dataverse_url=dv.url(n),
            dataverse_client_id=CLIENT_ID,
            dataverse_client_secret=CLIENT_SECRET,
            dataverse_tenant=TENANT,
            dataverse_authority=dv.url(n),
        )
        connection, _ = add_connection(settings, runtime.sessions, runtime.box, new)
        return connection.id

    try:
        with ThreadPoolExecutor(4) as pool:
            return list(pool.map(add, range(count)))
    finally:
        runtime.close()


def worker_env(workdir: Path, url: str, ca: Path) -> dict[str, str]:
    return env(workdir / "connector", D365XERO_DATABASE_URL=url, D365XERO_CA_BUNDLE=str(ca))


def start_workers(
    count: int, concurrency: int, environment: dict[str, str], log: Path
) -> list[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        return [
            subprocess.Popen(
                [*D365XERO, "worker", "--concurrency", str(concurrency)],
                env=environment,
                stdout=out,
                stderr=out,
            )
            for _ in range(count)
        ]


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        worker.terminate()
    for worker in workers:
        try:
            worker.wait(120)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(p * len(ordered)) - 1)] if ordered else float("nan")


# --- idle -------------------------------------------------------------------------------------


def stagger(engine: sa.Engine, ids: list[str], interval: int) -> datetime:
    """Each connection's interval set, and a finished run put behind it so that the N
    connections fall due evenly over the next interval; returns when the first is due."""
    now = datetime.now(UTC)
    rows = []
    for n, cid in enumerate(ids):
        ended = now - timedelta(seconds=interval) + timedelta(seconds=interval * n / len(ids))
        rows.append({"c": cid, "at": ended})
    with engine.begin() as c:
        c.execute(sa.text("UPDATE connections SET sync_interval = :i"), {"i": interval})
        c.execute(
            sa.text(
                "INSERT INTO sync_runs (connection_id, started_at, finished_at, status, "
                "invoices_seen, invoices_created, invoices_updated, invoices_failed, "
                "xero_calls, dataverse_calls) VALUES (:c, :at, :at, 'succeeded', 0, 0, 0, 0, 0, 0)"
            ),
            rows,
        )
    return now


def runs_since(engine: sa.Engine, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """The runs that started in [since, until), each with the end of the run before it."""
    query = sa.text(
        """
        SELECT * FROM (
          SELECT connection_id, started_at, finished_at, xero_calls, dataverse_calls, status,
                 lag(finished_at) OVER (PARTITION BY connection_id ORDER BY started_at) AS prev
          FROM sync_runs) r
        WHERE started_at >= :since AND started_at < :until AND finished_at IS NOT NULL
        """
    )
    with engine.connect() as c:
        return [dict(row._mapping) for row in c.execute(query, {"since": since, "until": until})]


def idle(args: argparse.Namespace, url: str, workdir: Path) -> dict[str, Any]:
    with farms(args.connections, workdir) as (xero, dv):
        setup_started = time.monotonic()
        ids = make_connections(url, workdir, xero, dv, args.connections)
        setup_s = time.monotonic() - setup_started
        engine = sa.create_engine(url)
        stagger(engine, ids, args.interval)
        workers = start_workers(
            1, args.concurrency, worker_env(workdir, url, xero.ca), workdir / "workers.log"
        )
        pid = workers[0].pid
        try:
            time.sleep(args.interval)  # the first cycle: every connection's clients are built
            xero.ask("DELETE", "calls")
            dv.ask("DELETE", "calls")
            since = datetime.now(UTC)
            cpu0, t0 = cpu_seconds(pid), time.monotonic()
            peak = 0.0
            while time.monotonic() - t0 < args.interval * (args.cycles - 1):
                time.sleep(5)
                peak = max(peak, memory_mib(pid)[0])
            cpu, wall = cpu_seconds(pid) - cpu0, time.monotonic() - t0
            until = datetime.now(UTC)
            rss, hwm = memory_mib(pid)
            xero_calls, dv_calls = xero.ask("GET", "calls"), dv.ask("GET", "calls")
        finally:
            stop_workers(workers)
        # Runs still going at `until` end later; count the ones that started in the window.
        time.sleep(1)
        runs = runs_since(engine, since, until)
        engine.dispose()
    late = [(r["started_at"] - r["prev"]).total_seconds() - args.interval for r in runs]
    passes = len(runs)
    if not passes:
        raise SystemExit(f"no pass ran in the window: {(workdir / 'workers.log').read_text()}")
    return {
        "mode": "idle",
        "connections": args.connections,
        "interval_s": args.interval,
        "concurrency": args.concurrency,
        "setup_s": round(setup_s, 1),
        "window_s": round(wall, 1),
        "passes": passes,
        "expected_passes": round(args.connections * wall / args.interval),
        "statuses": dict(Counter(r["status"] for r in runs)),
        "rss_mib": round(rss, 1),
        "peak_rss_mib": round(max(hwm, peak), 1),
        "worker_cpu_s": round(cpu, 2),
        "cpu_ms_per_pass": round(1000 * cpu / passes, 1) if passes else None,
        "worker_cpu_share": round(cpu / wall, 3),
        "xero_calls_per_pass": round(sum(r["xero_calls"] for r in runs) / passes, 2),
        "dataverse_calls_per_pass": round(sum(r["dataverse_calls"] for r in runs) / passes, 2),
        "emulators_per_pass": per_pass(xero_calls, dv_calls, passes),
        "late_s": {
            "median": round(statistics.median(late), 2),
            "p95": round(percentile(late, 0.95), 2),
            "max": round(max(late), 2),
        },
    }


def per_pass(xero: dict[str, int], dv: dict[str, int], passes: int) -> dict[str, float]:
    """Calls per pass by route, as the emulators counted them (token routes included)."""
    out = {f"xero {k}": round(n / passes, 3) for k, n in sorted(xero.items())}
    out |= {f"dataverse {k}": round(n / passes, 3) for k, n in sorted(dv.items())}
    return {k: v for k, v in out.items() if v >= 0.005}


# --- busy -------------------------------------------------------------------------------------


def load_backlogs(
    workdir: Path, xero: Farm, dv: Farm, count: int, invoices: int, first: int, refs: list[Any]
) -> list[dict[str, str]]:
    """Invoices `first` to `first + invoices - 1` of each organisation (customers, products and
    their Xero contacts and items first, unless `refs` says where they are)."""

    def load(n: int) -> dict[str, str]:
        stack = Stack(
            workdir / f"org{n}",
            Emulator("xero", xero.process, xero.url(n), xero.ca),
            Emulator("dataverse", dv.process, dv.url(n), dv.ca),
        )
        shape = Shape(first + invoices)
        found = refs[n] if refs else prepare(stack, shape, connection_name(n))
        load_invoices(stack, shape, found, first, invoices)
        return found

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(load, range(count)))


def warm(url: str, workdir: Path, ca: Path, ids: list[str]) -> None:
    """A pass of each connection, exporting one invoice, before its backlog arrives: as in a
    running deployment, the Xero reference data the push needs is in the store (10 minutes),
    and each tenant's budget has seen calls."""
    from d365xero.config import get_settings
    from d365xero.jobs.passes import run_pass
    from d365xero.jobs.runtime import open_runtime

    settings = get_settings(data_dir=workdir / "connector", database_url=url, ca_bundle=ca)
    runtime = open_runtime(settings, migrate=False)
    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda cid: run_pass(runtime, cid), ids))
    finally:
        runtime.close()


def busy(args: argparse.Namespace, url: str, workdir: Path) -> dict[str, Any]:
    from d365xero.jobs.queue import QueuedPassRequests

    with farms(args.connections, workdir, seed=True) as (xero, dv):
        t = time.monotonic()
        ids = make_connections(url, workdir, xero, dv, args.connections)
        first, refs = 0, []
        if not args.cold:
            refs = load_backlogs(workdir, xero, dv, args.connections, 1, 0, [])
            warm(url, workdir, xero.ca, ids)
            first = 1
        load_backlogs(workdir, xero, dv, args.connections, args.invoices, first, refs)
        args.total = first + args.invoices  # what each organisation's Xero holds when done
        setup_s = time.monotonic() - t
        xero.ask("POST", "rate-limits", {"enabled": True})
        port_of = {cid: str(xero.ports[n]) for n, cid in enumerate(ids)}
        rows = []
        requests = QueuedPassRequests(url)
        try:
            for count in args.workers:
                rows.append(busy_run(args, workdir, url, xero, dv, ids, port_of, requests, count))
        finally:
            requests.close()
        left = sum(args.total - n for n in xero.ask("GET", "invoices").values())
    base = rows[0]["invoices_per_min"] if rows else 0
    for row in rows:
        row["vs_first"] = round(row["invoices_per_min"] / base, 2) if base else None
    return {
        "mode": "busy",
        "connections": args.connections,
        "invoices_each": args.invoices,
        "concurrency": args.concurrency,
        "setup_s": round(setup_s, 1),
        "runs": rows,
        "invoices_left": left,
    }


def _doing(url: str) -> int:
    """Sync jobs running now (a worker runs up to --concurrency at once)."""
    engine = _engine(url)
    with engine.connect() as c:
        query = "SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing' AND task_name = :t"
        found = int(c.execute(sa.text(query), {"t": "d365xero.sync_connection"}).scalar() or 0)
    engine.dispose()
    return found


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


def busy_run(
    args: argparse.Namespace,
    workdir: Path,
    url: str,
    xero: Farm,
    dv: Farm,
    ids: list[str],
    port_of: dict[str, str],
    requests: Any,
    count: int,
) -> dict[str, Any]:
    exported = xero.ask("GET", "invoices")
    for cid in ids:  # the connections with a backlog left (the queueing lock keeps one each)
        if exported[port_of[cid]] < args.total:
            requests.request_pass(cid, reason="bench")
    refused0 = sum(xero.ask("GET", "refused").values())
    environment = worker_env(workdir, url, xero.ca)
    workers = start_workers(count, args.concurrency, environment, workdir / "workers.log")
    try:
        start_total = sum(exported.values())
        deadline = time.monotonic() + START_TIMEOUT
        while sum(xero.ask("GET", "invoices").values()) == start_total:  # the first pass is on
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"no invoice reached Xero: {(workdir / 'workers.log').read_text()[-3000:]}"
                )
            time.sleep(0.2)
        # Every worker started (imports take seconds on a loaded machine) and on a pass: the
        # window measures W workers at work, not their start-up.
        while _doing(url) < min(count * args.concurrency, args.connections) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.2)
        n0 = sum(xero.ask("GET", "invoices").values())
        since = datetime.now(UTC)
        cpu0 = [cpu_seconds(w.pid) for w in workers]
        emu0 = (xero.cpu_seconds(), dv.cpu_seconds())
        t0 = time.monotonic()
        time.sleep(args.window)
        n1 = sum(xero.ask("GET", "invoices").values())
        wall = time.monotonic() - t0
        cpu = [cpu_seconds(w.pid) - c for w, c in zip(workers, cpu0, strict=True)]
        emu = (xero.cpu_seconds() - emu0[0], dv.cpu_seconds() - emu0[1])
    finally:
        stop_workers(workers)
    passes = [
        r for r in runs_since(_engine(url), since, datetime.now(UTC)) if r["status"] != "skipped"
    ]
    seconds = [(r["finished_at"] - r["started_at"]).total_seconds() for r in passes]
    return {
        "workers": count,
        "passes_started": len(passes),
        "pass_s_median": round(statistics.median(seconds), 1) if seconds else None,
        # A pass can be no shorter than its Xero calls paced 1.02 s apart (60 a minute, 2% off)
        "pass_floor_s_median": round(
            statistics.median(max(r["xero_calls"] - 1, 0) * 1.02 for r in passes), 1
        )
        if passes
        else None,
        "window_s": round(wall, 1),
        "invoices": n1 - n0,
        "invoices_per_min": round((n1 - n0) / wall * 60),
        "worker_cpu_s": [round(c, 1) for c in cpu],
        "worker_cpu_ms_per_invoice": round(1000 * sum(cpu) / max(n1 - n0, 1), 2),
        "emulators_cpu_s": {"xero": round(emu[0], 1), "dataverse": round(emu[1], 1)},
        "refused_429": sum(xero.ask("GET", "refused").values()) - refused0,
        "load_average": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--keep", type=Path, help="work in this (new) folder and keep it (logs)")
    modes = parser.add_subparsers(dest="mode", required=True)
    one = modes.add_parser("idle", help="N idle connections on one worker")
    one.add_argument("--connections", type=int, default=100)
    one.add_argument(
        "--interval", type=int, default=30, help="seconds between a connection's passes"
    )
    one.add_argument(
        "--cycles", type=int, default=3, help="intervals to run (the first unmeasured)"
    )
    one.add_argument("--concurrency", type=int, default=4, help="the worker's --concurrency")
    many = modes.add_parser("busy", help="C connections with backlogs on 1, 2, 4 workers")
    many.add_argument("--connections", type=int, default=50)
    many.add_argument("--invoices", type=int, default=100, help="ready invoices per connection")
    many.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    many.add_argument("--concurrency", type=int, default=1, help="each worker's --concurrency")
    many.add_argument("--window", type=float, default=20, help="seconds measured per run")
    many.add_argument("--cold", action="store_true", help="no pass before the backlogs")
    args = parser.parse_args()
    url = _schema(args.postgres)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = args.keep or Path(tmp)
            result = (idle if args.mode == "idle" else busy)(args, url, workdir)
    finally:
        _drop(args.postgres, url)
    result |= {"source": source(), "machine": machine()}
    text = json.dumps(result, indent=2, default=str)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
