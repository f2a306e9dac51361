"""A backlog drained by `d365xero worker` processes on PostgreSQL, the Xero emulator enforcing
its limits (60 calls a minute per tenant): time against the floor of ceil(N/50) calls at 60 a
minute, Xero calls made, and the 429s the emulator refused (its own counter).

Times: `exported_s`, the pass's reference and push steps (every invoice is in Xero when the push
ends: the backlog's time, compared with the floor); `pass_s`, the whole pass (the back-sync then
reads the N invoices back, the cancellations step checks Dynamics); `wall_s`, from queueing the
pass until the store records it (worker start-up included). Per step: seconds, of which waiting
for the Xero budget (`xero_waited`), and calls.

    .venv/bin/python -m bench.workers --invoices 1000 --workers 1
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import sqlalchemy as sa

from bench.backlog import Shape, load_invoices, prepare
from bench.push import machine, source
from bench.stack import D365XERO, start_stack
from d365xero.jobs.queue import QueuedPassRequests
from d365xero.trust import ssl_context


def _schema(server: str) -> str:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(server)
    with engine.begin() as connection:
        connection.execute(sa.text(f'create schema "{schema}"'))
    engine.dispose()
    return (
        sa.make_url(server)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )


def _created(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        total = connection.execute(
            sa.text("SELECT coalesce(sum(invoices_created), 0) FROM sync_runs")
        ).scalar()
    return int(total or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    url = _schema(args.postgres)
    try:
        _measure(args, url)
    finally:
        _drop(args.postgres, url)


def _drop(server: str, url: str) -> None:
    schema = sa.make_url(url).query["options"].split("=", 1)[1]
    engine = sa.create_engine(server)
    with engine.begin() as connection:
        connection.execute(sa.text(f'drop schema "{schema}" cascade'))
    engine.dispose()


def _measure(args: argparse.Namespace, url: str) -> None:
    with (
        tempfile.TemporaryDirectory() as folder,
        start_stack(Path(folder), D365XERO_DATABASE_URL=url) as stack,
    ):
        env = stack.connector_env
        subprocess.run([*D365XERO, "db", "upgrade"], env=env, check=True, capture_output=True)
        shape = Shape(args.invoices)
        ids = prepare(stack, shape)
        set_up = time.monotonic()  # the last Xero call of the set-up (its contacts and items)
        load_invoices(stack, shape, ids, 0, args.invoices)
        # The set-up's calls count in the emulator's minute as at Xero, but not in the budget
        # (they are the bench's, made as a person at Xero would): let them leave the window.
        time.sleep(max(0.0, set_up + 61 - time.monotonic()))
        with httpx.Client(verify=ssl_context(stack.ca)) as http:
            http.post(f"{stack.xero.url}/_emulator/rate-limits", json={"enabled": True})
        stack.xero.clear_calls()
        log = Path(folder) / "workers.log"
        with log.open("wb") as out:
            workers = [
                subprocess.Popen([*D365XERO, "worker"], env=env, stdout=out, stderr=out)
                for _ in range(args.workers)
            ]
        engine = sa.create_engine(url)
        requests = QueuedPassRequests(url)
        started = time.monotonic()
        requests.request_pass(_connection_id(engine), reason="bench")
        while _created(engine) < args.invoices:
            if time.monotonic() - started > args.timeout:
                raise SystemExit(f"timed out: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        wall = time.monotonic() - started
        pass_s = _pass_seconds(engine)
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(60)
        requests.close()
        steps = _steps(engine)
        calls = stack.xero.calls()
        refused = stack.xero.control("GET", "rate-limits")["refused"]
        engine.dispose()
    floor = math.ceil(args.invoices / 50)  # seconds: that many calls at 60 a minute
    exported = sum(float(str(s["seconds"])) for s in steps if s["name"] in ("reference", "push"))
    print(
        json.dumps(
            {
                "invoices": args.invoices,
                "workers": args.workers,
                "exported_s": round(exported, 1),
                "floor_s": floor,
                "ratio": round(exported / floor, 3),
                "pass_s": round(pass_s, 1),
                "wall_s": round(wall, 1),
                "xero_calls": sum(n for k, n in calls.items() if "/api.xro" in k),
                "refused_429": refused,
                "steps": steps,
                "source": source(),
                "machine": machine(),
            },
            indent=2,
        )
    )


def _pass_seconds(engine: sa.Engine) -> float:
    with engine.connect() as connection:
        first, last = connection.execute(
            sa.text("SELECT min(started_at), max(finished_at) FROM sync_runs")
        ).one()
    return float((last - first).total_seconds())


def _steps(engine: sa.Engine) -> list[dict[str, object]]:
    """Each run's steps: seconds, of which waiting for the Xero budget, and calls."""
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT steps FROM sync_runs ORDER BY id")).all()
    keep = ("name", "seconds", "xero_waited", "xero_calls", "dataverse_calls")
    return [
        {k: step.get(k) for k in keep} for (steps,) in rows for step in json.loads(steps or "[]")
    ]


def _connection_id(engine: sa.Engine) -> str:
    with engine.connect() as connection:
        return str(connection.execute(sa.text("SELECT id FROM connections")).scalar_one())


if __name__ == "__main__":
    main()
