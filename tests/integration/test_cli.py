"""The command line as a user runs it: emulators in their own processes (`d365xero emulate
--tls`), then `connection add` and `sync --once`, and `d365xero demo --once`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from d365xero.dataverse.auth import DataverseTokens
from d365xero.dataverse.client import DataverseClient
from d365xero.demo import create_sample_invoices
from d365xero.emulators.core.server import free_port
from d365xero.trust import ca_bundle_file, ssl_context

pytestmark = pytest.mark.slow
D365XERO = [sys.executable, "-m", "d365xero.cli"]


def _env(data_dir: Path, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("D365XERO_")}
    env.update(D365XERO_DATA_DIR=str(data_dir), **more)
    return env


def _start(service: str, data_dir: Path) -> tuple[subprocess.Popen[str], str, Path]:
    port = free_port()
    process = subprocess.Popen(
        [*D365XERO, "emulate", service, "--port", str(port), "--tls", "--seed"],
        env=_env(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    ca = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if match := re.search(r"CA certificate: (\S+)", line):
            ca = Path(match.group(1))
        if f":{port}" in line:
            break
    assert ca is not None, "the emulator did not print its CA certificate"
    url = f"https://127.0.0.1:{port}"
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/_emulator/calls", verify=ssl_context(ca))
            return process, url, ca
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"{service} emulator did not start")


@pytest.fixture
def emulators(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    xero, xero_url, ca = _start("xero", tmp_path / "emulators")
    dataverse, dataverse_url, _ = _start("dataverse", tmp_path / "emulators")
    try:
        yield xero_url, dataverse_url, ca
    finally:
        for process in (xero, dataverse):
            process.terminate()
            process.wait(10)


def _run(args: list[str], env: dict[str, str], code: int = 0) -> str:
    done = subprocess.run([*D365XERO, *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == code, done.stdout + done.stderr
    return done.stdout


def test_connection_add_then_sync_once(emulators: tuple[str, str, Path], tmp_path: Path) -> None:
    xero_url, dataverse_url, ca = emulators
    env = _env(tmp_path / "connector", D365XERO_CA_BUNDLE=str(ca))
    # As DESIGN has it: only the organisation URL (the tenant and authority come from its
    # challenge), the secrets from the environment (never on the command line, so not in `ps`).
    secrets = _env(
        tmp_path / "connector",
        D365XERO_CA_BUNDLE=str(ca),
        D365XERO_XERO_CLIENT_SECRET="demo-secret",
        D365XERO_DATAVERSE_CLIENT_SECRET="demo-secret",
    )
    out = _run(
        [
            "connection", "add", "--name", "Demo", "--xero-url", xero_url,
            "--xero-client-id", "d365xero-demo", "--dataverse-url", dataverse_url,
            "--dataverse-client-id", "d365xero-demo",
        ],
        secrets,
    )  # fmt: skip
    assert "Connected 'Demo' to Xero organisation Demo Company (UK)" in out
    [header, row] = _run(["connection", "list"], env).splitlines()
    assert header.split()[:2] == ["NAME", "STATUS"] and row.split()[:2] == ["Demo", "active"]
    assert "PLAN" in header and "trial until" in row  # a new connection starts a 30-day trial

    tokens = DataverseTokens(
        org_url=dataverse_url,
        tenant="demo-tenant",
        client_id="d365xero-demo",
        client_secret="demo-secret",
        authority=dataverse_url,
        ca_bundle=ca_bundle_file(ca, tmp_path),
    )
    with httpx.Client(verify=ssl_context(ca)) as http:
        client = DataverseClient(http, dataverse_url, tokens)
        [row] = client.get("dxc_connections", {"$select": "dxc_connectionid"})["value"]
        create_sample_invoices(client, row["dxc_connectionid"], datetime.now(UTC).date())
    dry = _run(["sync", "--dry-run"], env)
    assert "test Enrico 1: would be created in Xero" in dry
    assert "Missing price list: would fail" in dry
    out = _run(["sync", "--once"], env, code=1)  # done, but an invoice failed: cron sees it
    assert "Demo: 3 created, 0 updated, 1 failed" in out
    assert "  Missing price list: failed - The invoice has no Price List" in out
    # Nothing to push; the back-sync reads Xero's changed invoices once.
    assert "Demo: 0 created, 0 updated, 0 failed (1 Xero calls" in _run(["sync", "--once"], env)


def test_a_bad_secret_is_a_clear_error(emulators: tuple[str, str, Path], tmp_path: Path) -> None:
    xero_url, dataverse_url, ca = emulators
    env = _env(tmp_path / "connector", D365XERO_CA_BUNDLE=str(ca))
    done = subprocess.run(
        [
            *D365XERO, "connection", "add", "--name", "Demo", "--xero-url", xero_url,
            "--xero-client-id", "d365xero-demo", "--xero-client-secret", "wrong",
            "--dataverse-url", dataverse_url, "--dataverse-tenant", "demo-tenant",
            "--dataverse-client-id", "d365xero-demo", "--dataverse-client-secret", "demo-secret",
            "--dataverse-authority", dataverse_url,
        ],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2  # what was given is wrong: usage, not a failed sync
    assert "Traceback" not in done.stderr
    assert "error: Xero refused the custom connection's client id and secret" in done.stderr
    assert "wrong" not in done.stderr + done.stdout
    assert "Demo" not in _run(["connection", "list"], env)  # nothing kept


def test_demo_once_on_a_fresh_folder(tmp_path: Path) -> None:
    out = _run(["demo", "--once"], _env(tmp_path / "demo"))
    assert "made for the portal user demo@example.com" in out
    assert "3 created, 0 updated, 1 failed" in out
    assert re.search(r"First pass: \d+ Xero API calls and \d+ Dataverse API calls", out)
    # The loop: paid in Xero by a person, back in Dynamics after the next pass.
    full = re.search(r"approved (INV-\d+) and paid it in full", out)
    part = re.search(r"approved (INV-\d+) and paid ([\d.]+) of ([\d.]+)", out)
    assert full and part, out
    due = Decimal(part[3]) - Decimal(part[2])
    assert re.search(rf"{full[1]}\s+│ Paid\s+│ Paid\s+│", out), out
    assert re.search(rf"{part[1]}\s+│ Authorised\s+│ Active\s+│ {part[2]}\s+│ {due}", out), out
    assert re.search(rf": {due} owed, 0.00 overdue \(from Xero\)", out), out


def test_emulate_on_port_0_says_the_port_it_took(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [*D365XERO, "emulate", "dataverse", "--port", "0"],
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        printed = ""
        while not printed.endswith("\n") or "emulator on" not in printed.splitlines()[-1]:
            line = process.stdout.readline()
            assert line, printed  # the connection-add half comes first, then the URL
            printed += line
        match = re.fullmatch(
            r"dataverse emulator on http://127\.0\.0\.1:(\d+)", printed.splitlines()[-1]
        )
        assert match and int(match.group(1)) > 0, printed
        assert f"--dataverse-url http://127.0.0.1:{match.group(1)}" in printed  # the bound port
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{match.group(1)}/_emulator/calls")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the emulator did not answer on its port"
                time.sleep(0.1)
        assert response.status_code == 200
    finally:
        process.terminate()
        process.wait(10)
