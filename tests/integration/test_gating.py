"""Subscription gating end to end: a connection whose trial has lapsed gets no pass (nothing is
read or sent, no run row), `connection list` says why; renewing it lets the next pass run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from d365xero.cli import app
from d365xero.store import runs
from d365xero.store.models import Connection, RunStatus
from tests.integration.conftest import Stack, ready_backlog


def _set(stack: Stack, **values: object) -> None:
    with stack.runtime.sessions.begin() as session:
        connection = session.get(Connection, stack.connection.id)
        assert connection is not None
        for name, value in values.items():
            setattr(connection, name, value)


def test_a_lapsed_trial_gets_no_pass_and_is_listed_so(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    with stack.runtime.sessions() as session:
        fresh = session.get(Connection, stack.connection.id)
        assert fresh is not None and fresh.plan == "trial" and fresh.trial_ends_at is not None
        assert fresh.trial_ends_at - fresh.created_at == timedelta(days=30)
    ready_backlog(stack, 2)
    _set(stack, trial_ends_at=datetime.now(UTC) - timedelta(days=1))
    calls_before = stack.xero.emulator.calls.total("/api.xro")

    result = stack.run_pass()
    assert result.status is RunStatus.failed
    assert result.message.startswith("not synced: trial ended on ")
    assert stack.xero.emulator.calls.total("/api.xro") == calls_before
    with stack.runtime.sessions() as session:
        assert runs.recent_runs(session, stack.connection.id) == []

    for name, value in stack.process_env().items():
        monkeypatch.setenv(name, value)
    listed = CliRunner().invoke(app, ["connection", "list"])
    assert listed.exit_code == 0, listed.output
    assert "trial ended on" in listed.output and "subscribe to resume syncing" in listed.output

    _set(stack, plan="standard", subscription_ends_at=datetime.now(UTC) + timedelta(days=30))
    renewed = stack.run_pass()
    assert renewed.status is RunStatus.succeeded, renewed.message
    assert renewed.report.count("created") == 2
