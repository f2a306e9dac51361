"""Alembic head == models, on SQLite and PostgreSQL; downgrade and upgrade again; `db upgrade`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from d365xero.cli import app
from d365xero.store.db import create_engine
from d365xero.store.migrate import current_revision, downgrade, head_revision, upgrade
from d365xero.store.models import Base

# Every model has its table, made by the migrations (and nothing else is).
TABLES = set(Base.metadata.tables)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


def _differences(engine: Engine, metadata: sa.MetaData = Base.metadata) -> list[Any]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def _tables(engine: Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_head_matches_the_models(database_url: str, engine: Engine) -> None:
    assert _tables(engine) == set()
    assert current_revision(database_url) is None
    upgrade(database_url)
    assert current_revision(database_url) == head_revision()
    assert _tables(engine) == TABLES | {"alembic_version"}
    assert _differences(engine) == []


def test_the_comparison_sees_a_model_change(database_url: str, engine: Engine) -> None:
    upgrade(database_url)
    changed = sa.MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["connections"].append_column(sa.Column("extra", sa.Integer))
    diffs = _differences(engine, changed)
    assert [(d[0], d[3].name) for d in diffs] == [("add_column", "extra")]


def test_downgrade_then_upgrade_again(database_url: str, engine: Engine) -> None:
    upgrade(database_url)
    downgrade(database_url, "base")
    assert current_revision(database_url) is None
    assert _tables(engine) <= {"alembic_version"}
    upgrade(database_url)
    upgrade(database_url)  # at head already: nothing to do
    assert current_revision(database_url) == head_revision()
    assert _differences(engine) == []


def test_version_table_lives_in_the_schema_of_the_url(database_url: str, engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("schemas are PostgreSQL's")
    upgrade(database_url)
    with engine.connect() as conn:
        schema = conn.execute(sa.text("select current_schema()")).scalar()
        assert schema is not None and schema.startswith("t_")  # the fixture's own schema
        where = conn.execute(
            sa.text(
                "select table_schema from information_schema.tables"
                " where table_name = 'alembic_version'"
                " and table_schema in (current_schema(), 'public')"
            )
        ).scalars()
        assert list(where) == [schema]


def test_db_upgrade_command(
    database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("D365XERO_DATABASE_URL", database_url)
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"database at revision {head_revision()}" in result.output
    ours = {t for t in _tables(engine) if not t.startswith("procrastinate_")}
    assert ours == TABLES | {"alembic_version"}
    again = CliRunner().invoke(app, ["db", "upgrade"])
    assert again.exit_code == 0, again.output
    if engine.dialect.name == "postgresql":  # the queue's tables too, once
        assert "procrastinate's queue installed" in result.output
        assert "procrastinate's queue already installed" in again.output
        assert {"procrastinate_jobs", "procrastinate_workers"} <= _tables(engine)
    else:
        assert "`d365xero worker` needs PostgreSQL" in result.output
        assert not {t for t in _tables(engine) if t.startswith("procrastinate_")}


def test_db_upgrade_makes_the_default_sqlite_file(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("D365XERO_DATABASE_URL", raising=False)
    monkeypatch.setenv("D365XERO_DATA_DIR", str(tmp_path / "fresh"))
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "fresh" / "d365xero.sqlite3").exists()
