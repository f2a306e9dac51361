"""What the Synchronisation Center, Connector Settings and Field mapping pages cost the server:
milliseconds per request (median and 95th percentile over `--rounds`), against both emulators
in their own processes (bench/stack.py) and the connector's store (SQLite, or PostgreSQL with
`--postgres URL`). The status fragment is measured while an import runs (it is what every
watching browser asks for each second): then it reads only the store and probes the pass lock.

`python -m bench.portal_center [--rounds N] [--postgres URL]`; results in docs/BENCHMARKS.md."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from starlette.testclient import TestClient

from bench.stack import CONNECTION, start_stack
from bench.workers import _drop, _schema
from d365xero.config import Settings
from d365xero.jobs import reference_import
from d365xero.jobs.runtime import open_runtime
from d365xero.portal import auth
from d365xero.portal.app import create_app
from d365xero.store import connections
from d365xero.store.sessions import start_session
from d365xero.store.users import create_user

HTML = {"accept": "text/html"}
HTMX = {"accept": "text/html", "hx-request": "true"}


def _time(client: TestClient, path: str, headers: dict[str, str], rounds: int) -> list[float]:
    client.get(path, headers=headers)  # warm: tokens, clients, templates
    spent = []
    for _ in range(rounds):
        started = time.perf_counter()
        answer = client.get(path, headers=headers)
        spent.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
    return spent


def _row(name: str, spent: list[float]) -> str:
    p95 = statistics.quantiles(spent, n=20)[-1]
    return f"| {name} | {statistics.median(spent):.1f} | {p95:.1f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--postgres", default=None)
    args = parser.parse_args()
    if not args.postgres:
        _measure(args.rounds, None)
        return
    url = _schema(args.postgres)  # a schema of its own, dropped after
    try:
        _measure(args.rounds, url)
    finally:
        _drop(args.postgres, url)


def _measure(rounds: int, database_url: str | None) -> None:
    extra = {"D365XERO_DATABASE_URL": database_url} if database_url else {}
    with tempfile.TemporaryDirectory() as tmp, start_stack(Path(tmp), **extra) as stack:
        env = stack.connector_env
        settings = Settings(
            data_dir=Path(env["D365XERO_DATA_DIR"]),
            ca_bundle=Path(env["D365XERO_CA_BUNDLE"]),
            database_url=database_url,
        )
        runtime = open_runtime(settings)
        with runtime.sessions.begin() as session:
            user = create_user(session, "bench@example.com", "correct horse battery staple 42")
            connection = connections.get_connection_by_name(session, CONNECTION)
            assert connection is not None
            connection.user_id, connection_id = user.id, connection.id
            token, _ = start_session(session, user, remember=False)
        client = TestClient(create_app(settings, runtime=runtime))
        client.cookies.set(auth.COOKIE, token)
        base = f"/connections/{connection_id}"
        print(f"{rounds} rounds, store: {'PostgreSQL' if database_url else 'SQLite'}")
        print("| request | median ms | p95 ms |\n|---|---|---|")
        for name, path in (
            ("GET sync-center (idle: asks Dynamics for the order rule)", "/sync-center"),
            ("GET settings (the dxc_setting row and the account codes)", "/settings"),
            ("GET mapping (the row and four tables' columns)", "/mapping"),
        ):
            print(_row(name, _time(client, base + path, HTML, rounds)))
        release = threading.Event()

        threads: list[threading.Thread] = []

        def held(work: Callable[[], None]) -> None:
            threads.append(threading.Thread(target=lambda: (release.wait(600), work())))
            threads[0].start()

        reference_import.start_import(runtime, connection_id, "taxrates", held)
        spent = _time(client, f"{base}/sync-center/status", HTMX, rounds)
        print(_row("GET sync-center/status while an import runs (the 1 s poll)", spent))
        release.set()
        threads[0].join(600)  # the import ends before its store goes
        runtime.close()


if __name__ == "__main__":
    main()
