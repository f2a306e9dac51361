"""`d365xero solution build` and `d365xero solution check`."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from d365xero.cli import app
from d365xero.solution.reader import read_solution

runner = CliRunner()


def test_build_writes_the_zip_and_says_what_it_holds(tmp_path: Path) -> None:
    target = tmp_path / "d365xero_solution.zip"
    result = runner.invoke(app, ["solution", "build", "-o", str(target), "--version", "1.2.0.0"])
    assert result.exit_code == 0, result.output
    assert read_solution(target.read_bytes()).version == "1.2.0.0"
    assert f"Wrote {target}" in result.output
    assert "dxc_xerodetail" in result.output and "d365xero integration" in result.output


def test_build_into_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["solution", "build", "-o", str(tmp_path / "no" / "x.zip")])
    assert result.exit_code == 2  # bad usage
    assert "does not exist" in result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not a traceback


def test_build_onto_a_folder_or_with_a_bad_version_is_a_clear_error(tmp_path: Path) -> None:
    folder = runner.invoke(app, ["solution", "build", "-o", str(tmp_path)])
    assert folder.exit_code == 2 and "is a folder" in folder.output
    version = runner.invoke(
        app, ["solution", "build", "-o", str(tmp_path / "x.zip"), "--version", "v2"]
    )
    assert version.exit_code == 2 and "not a solution version" in version.output
    assert not (tmp_path / "x.zip").exists()


def test_check_describes_a_good_zip_and_refuses_a_bad_one(tmp_path: Path) -> None:
    good = tmp_path / "good.zip"
    runner.invoke(app, ["solution", "build", "-o", str(good)])
    described = runner.invoke(app, ["solution", "check", str(good)])
    assert described.exit_code == 0 and "Solution d365xero 1.0.0.0" in described.output
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    refused = runner.invoke(app, ["solution", "check", str(bad)])
    assert refused.exit_code == 1 and "not a solution file" in refused.output  # the answer
    missing = runner.invoke(app, ["solution", "check", str(tmp_path / "missing.zip")])
    assert missing.exit_code == 2 and "cannot read" in missing.output  # bad usage
