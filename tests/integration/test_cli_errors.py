"""What a new user trips over, through the real command in-process (typer's CliRunner): options out
of range, a store that is not there or cannot be reached, a secret key that cannot decrypt, a
paused connection. Each is one line on stderr and exit 2 (bad usage or environment) or 1
(something failed), and a command that only reads creates nothing."""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import Result
from cryptography.fernet import Fernet
from typer.testing import CliRunner

from d365xero.cli import app
from d365xero.config import Settings
from d365xero.emulators.core.server import free_port
from d365xero.jobs.runtime import open_runtime
from d365xero.store import connections

Run = Callable[..., Result]
KEY = Fernet.generate_key().decode()
ORG = "https://org.example.com"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"  # not created: the commands must not need it, nor make it


@pytest.fixture
def cli(tmp_path: Path, data_dir: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("D365XERO_SECRET_KEY", "D365XERO_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()

    def run(*args: str, **env: str) -> Result:
        settings = {"D365XERO_DATA_DIR": str(data_dir), "D365XERO_DATABASE_URL": database_url}
        return runner.invoke(app, list(args), env={**settings, **env})

    return run


def _flat(text: str) -> str:
    """Words only: rich draws usage errors in a box, wrapped at the terminal's width."""
    return " ".join(text.replace("│", " ").split())


def _one_line_error(result: Result, code: int) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def _tables(database_url: str) -> list[str]:
    if database_url.startswith("sqlite:///"):
        path = Path(database_url.removeprefix("sqlite:///"))
        assert not path.exists()
        return []
    engine = sa.create_engine(database_url)
    try:
        return sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def _store(data_dir: Path, database_url: str, *names: str, paused: str | None = None) -> None:
    """A migrated store holding connections sealed with KEY."""
    settings = Settings(data_dir=data_dir, database_url=database_url, secret_key=KEY)
    runtime = open_runtime(settings)
    with runtime.sessions.begin() as session:
        for name in names:
            connection = connections.add_connection(
                session,
                runtime.box,
                name=name,
                secrets={"xero_client_secret": "s", "dataverse_client_secret": "s"},
                dataverse_url=ORG,
            )
            if paused is not None:
                connection.status = "paused"
                connection.status_message = paused or None
    runtime.close()


READ_ONLY = [
    ["connection", "list"],
    ["sync", "--dry-run"],
    ["sync", "--once"],
    ["connection", "resume", "--name", "Demo"],
    ["connection", "remove", "--name", "Demo"],
    ["reference-data", "--connection", "Demo"],
]


@pytest.mark.parametrize("args", READ_ONLY, ids=" ".join)
def test_without_a_store_a_command_says_how_to_make_one_and_creates_nothing(
    cli: Run, args: list[str], data_dir: Path, database_url: str
) -> None:
    line = _one_line_error(cli(*args), 2)
    assert "no store yet at" in line and "`d365xero connection add`" in line
    assert not data_dir.exists()
    assert _tables(database_url) == []


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (f"postgresql://d365xero:hunter2@127.0.0.1:{free_port()}/none", "Connection refused"),
        ("not a url", "is not a URL: use sqlite:///PATH or postgresql://"),
        ("oracle://scott:hunter2@db/orcl", "the store runs on SQLite or PostgreSQL"),
    ],
    ids=["nothing-listening", "unparsable", "unknown"],
)
@pytest.mark.parametrize("args", [["db", "upgrade"], ["connection", "list"], ["sync", "--once"]])
def test_a_database_url_that_cannot_work_is_one_line(
    cli: Run, url: str, says: str, args: list[str]
) -> None:
    result = cli(*args, D365XERO_DATABASE_URL=url)
    line = _one_line_error(result, 2)
    assert says in line
    assert "hunter2" not in result.output  # the password is never shown


def test_an_unwritable_sqlite_path_is_one_line(cli: Run, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("a file, not a folder")  # (root may write anywhere else)
    url = f"sqlite:///{tmp_path}/a-file/store.sqlite3"
    line = _one_line_error(cli("db", "upgrade", D365XERO_DATABASE_URL=url), 2)
    folder = tmp_path / "a-file"
    assert line == f"error: cannot create the folder {folder} for the SQLite store: it is a file"
    reading = _one_line_error(cli("connection", "list", D365XERO_DATABASE_URL=url), 2)
    assert f"no store yet at {tmp_path}/a-file/store.sqlite3" in reading


def test_a_secret_key_that_cannot_decrypt_names_every_connection_it_stops(
    cli: Run, data_dir: Path, database_url: str
) -> None:
    _store(data_dir, database_url, "North", "South")
    other = Fernet.generate_key().decode()
    for args in (["sync", "--once"], ["sync", "--dry-run"]):
        result = cli(*args, D365XERO_SECRET_KEY=other)
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert [line.split(":")[:2] for line in lines] == [["error", " North"], ["error", " South"]]
        assert all("cannot decrypt connection secrets" in line for line in lines)
    gone = cli("sync", "--once")  # no D365XERO_SECRET_KEY and no secret.key in the data folder
    assert gone.exit_code == 2
    assert "D365XERO_SECRET_KEY is not set" in gone.stderr
    assert not (data_dir / "secret.key").exists()  # a new key would open nothing: none is made
    listed = cli("connection", "list", D365XERO_SECRET_KEY=other)  # needs no secret
    assert listed.exit_code == 0 and "North" in listed.stdout and "South" in listed.stdout


def test_connection_list_has_a_header_or_says_how_to_add_one(
    cli: Run, data_dir: Path, database_url: str
) -> None:
    assert cli("db", "upgrade").exit_code == 0
    empty = cli("connection", "list")
    assert empty.exit_code == 0
    assert (
        "No connections yet: add one with `d365xero connection add --name NAME ...`."
        in empty.stdout
    )
    _store(data_dir, database_url, "Demo", paused="Xero refused access: reconnect Xero.")
    listed = cli("connection", "list").stdout.splitlines()
    assert listed[0].split() == [
        "NAME", "STATUS", "PLAN", "XERO", "ORGANISATION", "DYNAMICS", "URL", "WEBHOOKS"
    ]  # fmt: skip
    trial_end = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    assert listed[1].split() == [
        "Demo", "paused", "trial", "until", trial_end, ORG, "xero", "quiet,", "dynamics", "not",
        "registered",
    ]  # fmt: skip
    assert listed[2].strip() == "Xero refused access: reconnect Xero."


def test_a_paused_connection_is_not_synced_says_how_to_resume_and_exits_1(
    cli: Run, data_dir: Path, database_url: str
) -> None:
    _store(data_dir, database_url, "Demo", paused="")
    for args in (["sync", "--once"], ["sync", "--once", "--connection", "Demo"]):
        result = cli(*args, D365XERO_SECRET_KEY=KEY)
        assert result.exit_code == 1, result.output
        assert result.stdout.strip() == (
            "Demo: not synced, paused: resume it with d365xero connection resume --name Demo"
        )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["sync", "--interval", "0"], "'--interval': give seconds from 1 to 86400, not 0.0"),
        (["sync", "--interval", "-5"], "'--interval': give seconds from 1 to 86400, not -5.0"),
        (["sync", "--interval", "nan"], "'--interval': give seconds from 1 to 86400, not nan"),
        (["sync", "--interval", "inf"], "'--interval': give seconds from 1 to 86400, not inf"),
        (["sync", "--interval", "1e9"], "'--interval': give seconds from 1 to 86400"),
        (["demo", "--interval", "nan"], "'--interval': give seconds from 1 to 86400, not nan"),
        (["emulate", "xero", "--port", "70000"], "'--port': give a TCP port from 0 to 65535"),
        (["emulate", "dataverse", "--port", "-1"], "'--port': give a TCP port from 0 to 65535"),
        (["emulate", "xero", "--client-id", " "], "'--client-id': must not be empty"),
        (["sync", "--connection", ""], "'--connection': must not be empty"),
        (["connection", "resume", "--name", " "], "'--name': must not be empty"),
        (["reference-data", "--connection", ""], "'--connection': must not be empty"),
        (["emulate", "xero", "--host", ""], "'--host': must not be empty"),
        (
            ["solution", "build", "-o", "x.zip", "--version", "v2"],
            "'--version': 'v2' is not a solution version",
        ),
    ],
)
def test_an_option_out_of_range_is_refused_when_parsed(
    cli: Run, args: list[str], says: str, data_dir: Path
) -> None:
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert says in _flat(result.stderr)
    assert not data_dir.exists()


def test_a_port_in_use_is_one_line_before_anything_is_printed(cli: Run) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = cli("emulate", "xero", "--port", str(port))
    line = _one_line_error(result, 2)
    assert line == f"error: cannot listen on 127.0.0.1:{port}: Address already in use"
    assert result.stdout == ""  # no URL for a server that never started


@pytest.mark.parametrize("args", [[], ["sync"], ["connection", "list"], ["db", "upgrade"]])
def test_help_says_what_the_exit_codes_mean(cli: Run, args: list[str]) -> None:
    result = cli(*args, "--help")
    assert result.exit_code == 0
    text = _flat(result.stdout)
    assert "Exit codes: 0 done; 1 done but something failed" in text
    assert "2 bad usage or environment" in text
