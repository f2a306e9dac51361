"""The embedded scheduler's guarantees: passes of one connection never overlap (each holds the
store's real pass lock, so a second one would be refused), at most `pool_size` run at once,
bursts of requests coalesce, and `d365xero serve` stopped by SIGTERM ends its pass after a whole
batch: nothing half-written, nothing sent twice, the rest done by the next pass."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from d365xero.config import Settings
from d365xero.emulators.core.server import free_port
from d365xero.errors import PassInProgress
from d365xero.jobs.embedded import EmbeddedScheduler, SchedulerOptions
from d365xero.jobs.hooks import WEBHOOK_KEY as WEBHOOK_KEY_FIELD
from d365xero.jobs.passes import PassResult
from d365xero.jobs.runtime import Runtime, open_runtime
from d365xero.store import connections, locks, writes
from d365xero.store.models import RunStatus, SyncRun
from tests.integration.conftest import Stack, ready_backlog


class Recorder:
    """A pass that holds the connection's real store lock for `seconds`, noting concurrency."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.lock = threading.Lock()
        self.now_running: set[str] = set()
        self.most = 0
        self.passes: Counter[str] = Counter()
        self.refused = 0

    def __call__(self, runtime: Runtime, cid: str, stopping: Callable[[], bool]) -> PassResult:
        try:
            held = locks.take_pass_lock(runtime.engine, cid)
        except PassInProgress:
            with self.lock:
                self.refused += 1
            return PassResult(cid, RunStatus.skipped)
        with self.lock:
            assert cid not in self.now_running
            self.now_running.add(cid)
            self.most = max(self.most, len(self.now_running))
            self.passes[cid] += 1
        time.sleep(self.seconds)
        with self.lock:
            self.now_running.discard(cid)
        held.release()
        return PassResult(cid, RunStatus.succeeded)


@pytest.fixture
def runtime(tmp_path: Path, database_url: str) -> Iterator[Runtime]:
    runtime = open_runtime(Settings(data_dir=tmp_path, database_url=database_url))
    with runtime.sessions.begin() as session:
        for n in range(5):
            connections.add_connection(
                session, runtime.box, name=f"C{n}", secrets={}, xero_tenant_id=f"t{n}"
            )
    yield runtime
    runtime.close()


def _ids(runtime: Runtime) -> list[str]:
    with runtime.sessions() as session:
        return [c.id for c in connections.list_connections(session)]


def _until(done: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_every_connection_is_polled_at_start_within_a_bounded_pool(runtime: Runtime) -> None:
    recorder = Recorder(0.3)
    options = SchedulerOptions(pool_size=2, window=0.0, refresh=3600)
    with EmbeddedScheduler(runtime, options, runner=recorder) as scheduler:
        _until(lambda: sum(recorder.passes.values()) == 5 and not scheduler.running())
    assert recorder.most == 2  # bounded, and used
    assert set(recorder.passes) == set(_ids(runtime)) and recorder.refused == 0


def test_requests_during_a_pass_coalesce_into_one_more_and_never_overlap(
    runtime: Runtime,
) -> None:
    recorder = Recorder(0.4)
    options = SchedulerOptions(pool_size=4, window=0.05, refresh=3600)
    with EmbeddedScheduler(runtime, options, runner=recorder) as scheduler:
        _until(lambda: sum(recorder.passes.values()) == 5 and not scheduler.running())
        first = _ids(runtime)[0]
        for _ in range(50):  # a burst while nothing runs, then more while its pass runs
            scheduler.request_pass(first, reason="test")
        _until(lambda: first in scheduler.running())
        for _ in range(50):
            scheduler.request_pass(first, reason="test")
        assert scheduler.queue_depth() == 1
        _until(lambda: not scheduler.running() and not scheduler.queue_depth())
    assert recorder.passes[first] == 3  # poll, the first burst, the burst during it
    assert recorder.refused == 0


def test_stop_waits_for_the_running_pass_and_starts_nothing_new(runtime: Runtime) -> None:
    recorder = Recorder(0.5)
    options = SchedulerOptions(pool_size=1, window=0.0, refresh=3600)
    scheduler = EmbeddedScheduler(runtime, options, runner=recorder).start()
    _until(lambda: bool(scheduler.running()))
    scheduler.stop()
    assert not recorder.now_running  # the pass in flight finished before stop() returned
    assert sum(recorder.passes.values()) == 1  # the four waiting were never started
    scheduler.request_pass(_ids(runtime)[0], reason="after stop")
    assert scheduler.queue_depth() == 0


@pytest.mark.slow
def test_serve_stopped_by_sigterm_ends_its_pass_after_a_whole_batch(stack: Stack) -> None:
    ready_backlog(stack, 300)
    before = _xero_count(stack)  # the sample organisation's own invoices
    port = free_port()
    env = stack.process_env() | {
        "D365XERO_LOG_FORMAT": "json",
        "D365XERO_XERO_WEBHOOK_KEY": WEBHOOK_KEY,
        "D365XERO_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "d365xero.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _until(lambda: _healthy(port) or process.poll() is not None, timeout=60)
        _until(lambda: _xero_count(stack) > before or process.poll() is not None, timeout=60)
        process.terminate()
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, out + err
    assert "stopped" in out and "Traceback" not in err, out + err
    with stack.runtime.sessions() as session:
        [run] = session.scalars(sa.select(SyncRun)).all()
        assert run.status == RunStatus.partial.value and "shutting down" in (run.message or "")
        assert writes.pending_writes(session, stack.connection.id) == []  # nothing half-written
    sent = _xero_count(stack) - before
    recorded = len(stack.rows("dxc_xerodetails", "dxc_xeroinvoiceid ne null", "dxc_xeroinvoiceid"))
    assert 0 < sent < 300 and recorded == sent  # whole batches: sent and written back
    _no_secrets_in(err, stack, run.id)
    assert stack.run_pass().status is RunStatus.succeeded  # the next pass does the rest
    assert _xero_count(stack) - before == 300 and _each_once(stack)


WEBHOOK_KEY = "the-xero-webhook-key-of-this-test"


def _no_secrets_in(logs: str, stack: Stack, run_id: int) -> None:
    """Every log line is JSON; invoice lines carry the connection, run and invoice; no secret
    the run used (client secrets, webhook keys, tokens) appears anywhere."""
    lines = [json.loads(line) for line in logs.splitlines() if line.strip()]
    invoices = [line for line in lines if line["event"] == "invoice"]
    assert invoices and all(
        line["connection_id"] == stack.connection.id
        and line["run_id"] == run_id
        and line["invoice_id"]
        for line in invoices
    )
    with stack.runtime.sessions() as session:
        found = connections.get_connection(session, stack.connection.id)
        assert found is not None
        used = connections.read_secrets(stack.runtime.box, found)
    secrets = [WEBHOOK_KEY, *(str(v) for v in used.values() if isinstance(v, str) and v)]
    assert used.get(WEBHOOK_KEY_FIELD), "serve registered the Dynamics webhook with a key"
    for secret in secrets:
        assert secret not in logs
    assert "Bearer " not in logs and "eyJ" not in logs  # no token (JWTs start so)


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    except httpx.TransportError:
        return False


def _xero_count(stack: Stack) -> int:
    found = stack.xero_get("Invoices", page=1, pageSize=1000)["Invoices"]
    return sum(1 for i in found if i["Status"] != "DELETED")


def _each_once(stack: Stack) -> bool:
    found = stack.xero_get("Invoices", page=1, pageSize=1000)["Invoices"]
    return set(Counter(i["Url"] for i in found if i.get("Url")).values()) == {1}
