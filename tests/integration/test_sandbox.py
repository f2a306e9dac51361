"""The local sandbox as a user reaches it: `d365xero emulate ... --tls` prints its half of
`d365xero connection add`, and the two halves, pasted as printed, connect a connector that shares
the emulators' data folder, with no D365XERO_CA_BUNDLE (it trusts that folder's local CA)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from d365xero.config import Settings
from d365xero.emulators.core.server import free_port
from d365xero.emulators.core.tls import LocalCA
from d365xero.trust import extra_cas

pytestmark = pytest.mark.slow
D365XERO = [sys.executable, "-m", "d365xero.cli"]


def _env(data_dir: Path, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("D365XERO_")}
    env.update(D365XERO_DATA_DIR=str(data_dir), **more)
    return env


def _emulate(service: str, data_dir: Path) -> tuple[subprocess.Popen[str], list[str]]:
    """The emulator's process and what it printed up to "... emulator on URL"."""
    process = subprocess.Popen(
        [*D365XERO, "emulate", service, "--port", str(free_port()), "--tls", "--seed"],
        env=_env(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(" emulator on " in x for x in lines):
        lines.append(process.stdout.readline().rstrip("\n"))
    return process, lines


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[tuple[Path, list[str], list[str]]]:
    data_dir = tmp_path / "sandbox"
    xero, xero_lines = _emulate("xero", data_dir)
    dataverse, dataverse_lines = _emulate("dataverse", data_dir)
    try:
        yield data_dir, xero_lines, dataverse_lines
    finally:
        for process in (xero, dataverse):
            process.terminate()
            process.wait(10)


def _half(lines: list[str]) -> tuple[dict[str, str], list[str]]:
    """The environment variable and the flags an emulator printed for `connection add`."""
    [env_line] = [x.strip() for x in lines if x.startswith("  D365XERO_")]
    [flags] = [x.split() for x in lines if x.startswith("  --")]
    name, value = env_line.split("=", 1)
    return {name: value}, flags


def _connection_add(env: dict[str, str], *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*D365XERO, "connection", "add", "--name", "Sandbox", *flags],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_printed_halves_connect_a_connector_of_the_same_folder(
    sandbox: tuple[Path, list[str], list[str]],
) -> None:
    data_dir, xero_lines, dataverse_lines = sandbox
    assert any(x.startswith("Xero half of `d365xero connection add`") for x in xero_lines)
    assert any(x.startswith("Dynamics half of `d365xero connection add`") for x in dataverse_lines)
    xero_env, xero_flags = _half(xero_lines)
    dataverse_env, dataverse_flags = _half(dataverse_lines)
    assert xero_env == {"D365XERO_XERO_CLIENT_SECRET": "demo-secret"}
    assert dataverse_env == {"D365XERO_DATAVERSE_CLIENT_SECRET": "demo-secret"}

    env = _env(data_dir, **xero_env, **dataverse_env)  # no D365XERO_CA_BUNDLE
    done = _connection_add(env, *xero_flags, *dataverse_flags)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Connected 'Sandbox' to Xero organisation Demo Company (UK)" in done.stdout
    assert "demo-secret" not in done.stdout + done.stderr


def test_a_connector_of_another_folder_does_not_trust_the_sandbox(
    sandbox: tuple[Path, list[str], list[str]], tmp_path: Path
) -> None:
    _, xero_lines, dataverse_lines = sandbox
    xero_env, xero_flags = _half(xero_lines)
    dataverse_env, dataverse_flags = _half(dataverse_lines)
    env = _env(tmp_path / "elsewhere", **xero_env, **dataverse_env)
    done = _connection_add(env, *xero_flags, *dataverse_flags)
    assert done.returncode != 0
    assert "CERTIFICATE_VERIFY_FAILED" in done.stdout + done.stderr
    [hint] = [x for x in xero_lines if "D365XERO_CA_BUNDLE=" in x]
    bundle = hint.rsplit("D365XERO_CA_BUNDLE=", 1)[1]
    done = _connection_add(dict(env, D365XERO_CA_BUNDLE=bundle), *xero_flags, *dataverse_flags)
    assert done.returncode == 0, done.stdout + done.stderr


def test_which_extra_cas_the_connector_trusts(tmp_path: Path) -> None:
    other = tmp_path / "on-prem.pem"
    assert extra_cas(Settings(data_dir=tmp_path)) == ()  # no local CA yet
    assert extra_cas(Settings(data_dir=tmp_path, ca_bundle=other)) == (other,)
    ca = LocalCA.load_or_create(tmp_path).cert_path
    assert extra_cas(Settings(data_dir=tmp_path)) == (ca,)
    assert extra_cas(Settings(data_dir=tmp_path, ca_bundle=other)) == (other, ca)
    assert extra_cas(Settings(data_dir=tmp_path, ca_bundle=ca)) == (ca,)  # once
