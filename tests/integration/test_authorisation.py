"""A revoked consent pauses the connection with a message saying how to reconnect; nothing is
marked Failed for it, and the invoices go once the connection is resumed."""

from __future__ import annotations

from d365xero.demo import create_sample_invoices
from d365xero.store import connections
from d365xero.store.models import ConnectionStatus, RunStatus
from tests.integration.conftest import Stack


def test_a_disconnected_xero_organisation_pauses_the_connection(stack: Stack) -> None:
    create_sample_invoices(
        stack.dataverse, stack.connection.dataverse_connection_row_id or "", stack.today()
    )
    client, headers = stack.xero.client(), stack.xero.headers()
    [connection] = client.get("/Connections", headers=headers).json()
    assert client.delete(f"/Connections/{connection['id']}", headers=headers).status_code == 204

    result = stack.run_pass()
    assert result.status is RunStatus.failed
    assert "reconnect Xero" in result.message
    assert "d365xero connection resume --name" in result.message
    assert stack.rows("dxc_xerodetails", "dxc_exportstatus ne null") == []  # nothing Failed
    [row] = stack.rows("dxc_connections", "dxc_name ne null", "dxc_message")
    assert "reconnect Xero" in row["dxc_message"]
    with stack.runtime.sessions() as session:
        stored = connections.get_connection(session, stack.connection.id)
        assert stored is not None and stored.status == ConnectionStatus.paused.value
        assert "reconnect Xero" in (stored.status_message or "")

    skipped = stack.run_pass()  # paused: not tried again until someone acts
    assert skipped.message.startswith("paused: ") and skipped.xero_calls == 0
    assert "d365xero connection resume --name" in skipped.message


def test_resume_from_the_command_line(stack: Stack) -> None:
    from typer.testing import CliRunner

    from d365xero.cli import app

    settings = stack.runtime.settings
    with stack.runtime.sessions.begin() as session:
        stored = connections.get_connection(session, stack.connection.id)
        assert stored is not None
        connections.pause_connection(stored, "Xero consent was revoked: reconnect Xero.")
    env = {
        "D365XERO_DATA_DIR": str(settings.data_dir),
        "D365XERO_DATABASE_URL": settings.database(),
    }
    runner = CliRunner()
    done = runner.invoke(app, ["connection", "resume", "--name", stack.connection.name], env=env)
    assert done.exit_code == 0, done.output
    with stack.runtime.sessions() as session:
        stored = connections.get_connection(session, stack.connection.id)
        assert stored is not None and stored.status == ConnectionStatus.active.value
    missing = runner.invoke(app, ["connection", "resume", "--name", "nope"], env=env)
    assert missing.exit_code == 2  # bad usage
    removed = runner.invoke(app, ["connection", "remove", "--name", stack.connection.name], env=env)
    assert removed.exit_code == 0, removed.output
    with stack.runtime.sessions() as session:
        assert connections.get_connection(session, stack.connection.id) is None
    unknown = runner.invoke(app, ["sync", "--once", "--connection", "nope"], env=env)
    assert unknown.exit_code == 2
    assert "no connection named 'nope'" in unknown.output
    empty = runner.invoke(app, ["sync", "--once"], env=env)
    assert empty.exit_code == 0
    assert "No connections yet: add one with `d365xero connection add" in empty.output
