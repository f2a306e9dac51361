"""`secrets rotate`: every connection's secrets sealed again with the new key, readable with the
old one throughout; a rotation interrupted after a batch resumes where it stopped; and the CLI's
--new-key path keeps the replaced key until the rotation has finished."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from d365xero.cli import app
from d365xero.errors import StoreError
from d365xero.store.connections import add_connection, list_connections, read_secrets
from d365xero.store.rotation import Rotation, rotate
from d365xero.store.secrets import KEY_FILE, OLD_KEYS_FILE, SecretBox

ROWS = 7


class Interrupted(Exception):
    pass


def _connections(sessions: sessionmaker[Session], box: SecretBox) -> None:
    with sessions.begin() as session:
        for n in range(ROWS):
            add_connection(session, box, name=f"c{n}", secrets={"xero_client_secret": f"s{n}"})


def _secrets(sessions: sessionmaker[Session], box: SecretBox) -> list[str]:
    with sessions() as session:
        return [read_secrets(box, c)["xero_client_secret"] for c in list_connections(session)]


def test_an_interrupted_rotation_resumes_and_reads_throughout(
    sessions: sessionmaker[Session],
) -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    _connections(sessions, SecretBox(old))
    during = SecretBox(new, old=[old])

    def stop_after_first(progress: Rotation) -> None:
        raise Interrupted  # e.g. the process was stopped after its first batch committed

    with pytest.raises(Interrupted):
        rotate(sessions, during, batch=3, after_batch=stop_after_first)
    assert sorted(_secrets(sessions, during)) == sorted(f"s{n}" for n in range(ROWS))
    with pytest.raises(StoreError):
        _secrets(sessions, SecretBox(new))  # not finished: some rows need the old key

    resumed = rotate(sessions, during, batch=3)
    assert (resumed.resealed, resumed.current) == (ROWS - 3, 3)
    assert sorted(_secrets(sessions, SecretBox(new))) == sorted(f"s{n}" for n in range(ROWS))
    with pytest.raises(StoreError):
        _secrets(sessions, SecretBox(old))  # the old key opens nothing any more


def test_a_row_no_key_opens_is_a_clear_error(sessions: sessionmaker[Session]) -> None:
    _connections(sessions, SecretBox(Fernet.generate_key()))
    with pytest.raises(StoreError, match="D365XERO_OLD_SECRET_KEYS"):
        rotate(sessions, SecretBox(Fernet.generate_key()))


def test_rotate_with_a_new_key_in_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    monkeypatch.delenv("D365XERO_SECRET_KEY", raising=False)
    monkeypatch.setenv("D365XERO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("D365XERO_DATABASE_URL", database_url)
    assert CliRunner().invoke(app, ["db", "upgrade"]).exit_code == 0
    from d365xero.config import get_settings
    from d365xero.jobs.runtime import open_runtime

    runtime = open_runtime(get_settings())
    _connections(runtime.sessions, runtime.box)
    runtime.close()
    first = (tmp_path / KEY_FILE).read_text()

    result = CliRunner().invoke(app, ["secrets", "rotate", "--new-key"])
    assert result.exit_code == 0, result.output
    assert f"{ROWS} re-encrypted, 0 already under the current key" in result.output
    assert "the replaced key is removed" in result.output
    assert (tmp_path / KEY_FILE).read_text() != first
    assert not (tmp_path / OLD_KEYS_FILE).exists()
    assert first.strip() not in result.output
    runtime = open_runtime(get_settings(), migrate=False)
    try:
        assert len(_secrets(runtime.sessions, runtime.box)) == ROWS
    finally:
        runtime.close()
    again = CliRunner().invoke(app, ["secrets", "rotate"])
    assert f"0 re-encrypted, {ROWS} already under the current key" in again.output
