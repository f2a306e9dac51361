"""Never twice, whoever starts the pass: passes of one connection in several processes, started
at the same moment or beside a running one, send every invoice to Xero once; the others say
they skipped. A process killed while it holds the lock does not keep it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from d365xero.jobs.passes import run_pass
from d365xero.store import runs
from d365xero.store.models import RunStatus
from tests.integration.conftest import Stack, ready_backlog

pytestmark = pytest.mark.slow
PASS = [sys.executable, "-m", "tests.support.pass_process"]
SYNC_ONCE = [sys.executable, "-m", "d365xero.cli", "sync", "--once"]
BACKLOG = 120
SKIPPED = re.compile(
    r": skipped: another pass of this connection is running "
    r"\(pid (\d+) on \S+, started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)"
)


def _xero_invoices(stack: Stack) -> Counter[str]:
    """How many times each Dynamics invoice (its URL) is in Xero."""
    found = stack.xero_get("Invoices", page=1, pageSize=1000)["Invoices"]
    return Counter(i["Url"] for i in found if i.get("Url") and i["Status"] != "DELETED")


def _assert_each_once(stack: Stack) -> None:
    counts = _xero_invoices(stack)
    assert len(counts) == BACKLOG
    assert set(counts.values()) == {1}, [url for url, n in counts.items() if n > 1][:3]


def _created(out: str) -> int:
    return sum(int(n) for n in re.findall(r": (\d+) created", out))


def _wait_for(what: str, done: Callable[[], bool], processes: list[subprocess.Popen[str]]) -> None:
    deadline = time.monotonic() + 60
    while not done():
        for process in processes:
            if process.poll() is not None:
                out, err = process.communicate()
                raise AssertionError(f"a pass process ended early: {out}{err}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _finish(process: subprocess.Popen[str]) -> str:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, out + err
    assert "Traceback" not in err, err
    return out


def test_passes_started_at_the_same_moment_send_every_invoice_once(
    stack: Stack, tmp_path: Path
) -> None:
    ready_backlog(stack, BACKLOG)
    go = tmp_path / "go"
    processes = [
        subprocess.Popen(
            [*PASS, stack.connection.id, "--start-when", str(go)],
            env=stack.process_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    _wait_for("the processes", lambda: len(list(tmp_path.glob("go.*.ready"))) == 3, processes)
    go.touch()
    outs = [_finish(process) for process in processes]
    _assert_each_once(stack)
    assert sum(_created(out) for out in outs) == BACKLOG, outs
    skipped = [out for out in outs if SKIPPED.search(out)]
    assert skipped, outs
    pids = {int(SKIPPED.search(out)[1]) for out in skipped}  # type: ignore[index]
    assert pids <= {p.pid for p in processes}, (pids, outs)


def test_sync_beside_a_running_pass_skips_and_says_which(stack: Stack, tmp_path: Path) -> None:
    ready_backlog(stack, BACKLOG)
    release = tmp_path / "release"
    holder = subprocess.Popen(
        [*PASS, stack.connection.id, "--hold-at", "locked", str(release)],
        env=stack.process_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for("the lock", Path(f"{release}.reached").exists, [holder])

    beside = subprocess.run(
        SYNC_ONCE, env=stack.process_env(), capture_output=True, text=True, timeout=120
    )
    assert beside.returncode == 0, beside.stdout + beside.stderr
    found = SKIPPED.search(beside.stdout)
    assert found and int(found[1]) == holder.pid, beside.stdout
    assert not _xero_invoices(stack)  # the skipped pass sent nothing

    waiting = subprocess.Popen(
        [*SYNC_ONCE, "--wait", "60"],
        env=stack.process_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1)  # it is waiting for the lock, not skipping
    assert waiting.poll() is None
    release.touch()
    assert _created(_finish(holder)) == BACKLOG
    waited = _finish(waiting)
    assert ": 0 created, 0 updated, 0 failed" in waited, waited
    _assert_each_once(stack)
    with stack.runtime.sessions() as session:
        recorded = runs.recent_runs(session, stack.connection.id)
    # The holder's run and the waiting one's: the skipped pass left no row.
    assert [r.status for r in recorded] == [RunStatus.succeeded.value] * 2


@pytest.mark.parametrize("step", ["locked", "invoices-sent"])
def test_a_pass_killed_holding_the_lock_does_not_keep_it(stack: Stack, step: str) -> None:
    ready_backlog(stack, BACKLOG)
    stack.crash_pass(step)
    # Freed at once on SQLite (the kernel drops the dead process's file lock); PostgreSQL lets
    # go of the advisory lock once it sees the dead process's connection closed.
    result = run_pass(stack.runtime, stack.connection.id, wait=5)
    assert result.status is RunStatus.succeeded, result.message
    _assert_each_once(stack)


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_a_pass_whose_lock_session_is_cut_stops_before_writing(stack: Stack) -> None:
    ready_backlog(stack, BACKLOG)

    def cut_the_lock_session(step: str) -> None:
        if step == "locked":  # as a server restart or a network cut would
            with stack.runtime.engine.connect() as conn:
                cut = conn.scalar(
                    sa.text(
                        "select pg_terminate_backend(pid) from pg_stat_activity"
                        " where application_name like :mine"
                    ),
                    {"mine": f"d365xero pass pid={os.getpid()} %"},
                )
                assert cut is True

    stopped = run_pass(stack.runtime, stack.connection.id, cut_the_lock_session)
    assert stopped.status is RunStatus.failed
    assert "the pass lost its lock" in stopped.message
    assert not _xero_invoices(stack)
    assert stack.run_pass().status is RunStatus.succeeded
    _assert_each_once(stack)
