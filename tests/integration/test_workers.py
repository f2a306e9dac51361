"""Scale-out workers (PostgreSQL + procrastinate): two and four `worker` processes, killed at
random with SIGKILL and started again while one connection's backlog drains, send every invoice
to Xero exactly once, and never get a 429 from the Xero emulator enforcing the tenant's limits
(its own counter of refusals says so; this backlog is about 25 calls, so the proof that many
callers stay inside 60 a minute is tests/clients/test_shared_budget.py). SIGTERM stops a worker
cleanly (exit 0)."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from d365xero.jobs.queue import QueuedPassRequests, install_schema
from tests.integration.conftest import Stack, ready_backlog

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
WORKER = [sys.executable, "-m", "d365xero.cli", "worker", "--concurrency", "2"]
BACKLOG = 150  # three batches of 50: a kill can land between them


@pytest.fixture
def queued(stack: Stack) -> Stack:
    url = stack.runtime.settings.database()
    if not url.startswith("postgresql"):
        pytest.skip("the worker needs PostgreSQL")
    install_schema(url)
    stack.xero.emulator.rate_limits_enabled = True
    return stack


def _start(stack: Stack, log: Path) -> subprocess.Popen[bytes]:
    """A worker, once it has said it is ready (so the test's SIGTERM finds it working, not
    still starting: a stop before that is not the graceful stop this test is about)."""
    env = stack.process_env()
    env.update(D365XERO_WORKER_HEARTBEAT_SECONDS="1", D365XERO_WORKER_STALLED_SECONDS="3")
    ready = log.read_text().count("worker ready") if log.exists() else 0
    with log.open("ab") as out:
        process = subprocess.Popen(WORKER, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while log.read_text().count("worker ready") <= ready:
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.05)
    return process


def _xero_urls(stack: Stack) -> Counter[str]:
    stack.xero.emulator.rate_limits_enabled = False  # the test's own reads are not the workers'
    try:
        found = stack.xero_get("Invoices", page=1, pageSize=1000)["Invoices"]
    finally:
        stack.xero.emulator.rate_limits_enabled = True
    return Counter(i["Url"] for i in found if i.get("Url") and i["Status"] != "DELETED")


def _queue_idle(stack: Stack) -> bool:
    with stack.runtime.engine.connect() as connection:
        waiting = connection.execute(
            sa.text(
                "SELECT count(*) FROM procrastinate_jobs WHERE task_name = "
                "'d365xero.sync_connection' AND status IN ('todo', 'doing')"
            )
        ).scalar()
    return waiting == 0


@pytest.mark.parametrize("workers", [2, 4])
def test_workers_killed_at_random_send_every_invoice_once_without_a_429(
    queued: Stack, tmp_path: Path, workers: int
) -> None:
    stack = queued
    ready_backlog(stack, BACKLOG)
    requests = QueuedPassRequests(stack.runtime.settings.database())
    log = tmp_path / "workers.log"
    running = [_start(stack, log) for _ in range(workers)]
    chance = random.Random(workers)
    try:
        requests.request_pass(stack.connection.id, reason="test")
        for _ in range(3):  # kill one at random while the backlog drains, start another
            time.sleep(chance.uniform(1.5, 5.0))
            victim = running.pop(chance.randrange(len(running)))
            victim.send_signal(signal.SIGKILL)
            victim.wait(10)
            running.append(_start(stack, log))
            requests.request_pass(stack.connection.id, reason="test")  # coalesced if queued
        deadline = time.monotonic() + 240
        while len(_xero_urls(stack)) < BACKLOG or not _queue_idle(stack):
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            if _queue_idle(stack):  # the last pass ended early (a kill): ask for another
                requests.request_pass(stack.connection.id, reason="test")
            time.sleep(1)
    finally:
        for process in running:
            process.send_signal(signal.SIGTERM)
        codes = [process.wait(60) for process in running]
        requests.close()
    counts = _xero_urls(stack)
    assert len(counts) == BACKLOG
    assert set(counts.values()) == {1}, [url for url, n in counts.items() if n > 1][:3]
    assert stack.xero.emulator.limiter.refused == {}, log.read_text()[-3000:]
    assert codes == [0] * workers, log.read_text()[-3000:]
    assert "Traceback" not in log.read_text()
