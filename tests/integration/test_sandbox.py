"""The local sandbox as a user reaches it: `d365xero emulate ... --tls` prints its half of
`d365xero connection add`, and the two halves, pasted as printed, connect a connector that shares
the emulators' data folder, with no D365XERO_CA_BUNDLE (it trusts that folder's local CA)."""

from __future__ import annotations

import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from d365xero.config import Settings
from d365xero.emulators.core.server import free_port
from d365xero.emulators.core.tls import LocalCA
from d365xero.trust import extra_cas

pytestmark = pytest.mark.slow
D365XERO = [sys.executable, "-m", "d365xero.cli"]
GUIDE = Path(__file__).resolve().parents[2] / "docs" / "USER_GUIDE.md"


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
    return process, _until_serving(process)


def _until_serving(process: subprocess.Popen[str]) -> list[str]:
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(" emulator on " in x for x in lines):
        line = process.stdout.readline()
        assert line, "the emulator stopped: " + "\n".join(lines)
        lines.append(line.rstrip("\n"))
    return lines


@pytest.fixture(scope="module")
def sandbox(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, list[str], list[str]]]:
    """Both emulators over HTTPS with one data folder, shared by the tests of this module."""
    data_dir = tmp_path_factory.mktemp("sandbox")
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
    assert "is not trusted" in done.stdout + done.stderr
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


class Shell:
    """One bash session, fed the guide's blocks as a user types them (variables carry over)."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            ["bash"],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.n = 0

    def run(self, block: str) -> str:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.n += 1
        marker = f"__block_{self.n}_done__"
        self.process.stdin.write(f"{block}echo {marker}\n")
        self.process.stdin.flush()
        out = []
        while (line := self.process.stdout.readline()) and line.strip() != marker:
            out.append(line)
        return "".join(out)


def test_the_user_guide_sandbox_runs_as_written(tmp_path: Path) -> None:
    """Every command of "Trying it on the local sandbox", as written but for the two ports (free
    ones, so that tests never collide with a sandbox running on this machine)."""
    for tool in ("curl", "jq"):
        if shutil.which(tool) is None:
            pytest.skip(f"the guide's requests use {tool}")
    guide = GUIDE.read_text(encoding="utf-8")
    section = guide[guide.index("## Trying it on the local sandbox") :]
    ports = {"8001": str(free_port()), "8002": str(free_port())}
    blocks = [
        re.sub(r"\b800[12]\b", lambda m: ports[m.group()], block)
        for block in re.findall(r"```sh\n(.*?)```", section, re.S)
    ]
    start_xero, start_dataverse, add, ready, in_dynamics, in_xero, sync_again = blocks
    env = _env(tmp_path / "unused")
    del env["D365XERO_DATA_DIR"]  # the default: ./.d365xero of the folder the guide runs in
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    if shutil.which("d365xero", path=env["PATH"]) is None:
        pytest.skip("the d365xero command is not installed beside this Python")

    def start(block: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            ["bash", "-c", f"exec {block.strip()}"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        _until_serving(process)
        return process

    xero, dataverse = start(start_xero), start(start_dataverse)
    shell = Shell(tmp_path, env)
    try:
        assert "Connected 'Sandbox' to Xero organisation" in shell.run(add)
        out = shell.run(ready)
        assert out.startswith("204\n") and "Sandbox: 1 created, 0 updated, 0 failed (" in out, out
        out = shell.run(in_dynamics)
        assert '"dxc_details": "Invoice has been created in Xero - ' in out, out
        assert '"dxc_syncstatus": 100000000' in out and '"dxc_exportstatus": 100000001' in out
        seen = shell.run(in_xero)
        assert '"Reference": "Office licences (sample): sample data"' in seen, seen

        xero.send_signal(signal.SIGINT)  # Ctrl-C, then the same command again
        xero.wait(15)
        xero = start(start_xero)
        assert shell.run(in_xero) == seen
        assert "Sandbox: 0 created, 0 updated, 0 failed (" in shell.run(sync_again)
    finally:
        for process in (xero, dataverse):
            process.send_signal(signal.SIGINT)
            process.wait(15)
        assert shell.process.stdin is not None
        shell.process.stdin.close()
        shell.process.wait(15)


def _issue(data_dir: Path, name: str) -> None:
    LocalCA.load_or_create(data_dir).issue(name)


def test_emulators_starting_together_share_one_local_ca(tmp_path: Path) -> None:
    """`emulate xero --tls` and `emulate dataverse --tls` started at once on a fresh folder: each
    server certificate chains to the one CA on disk (before, the last writer's CA won)."""
    processes = [
        multiprocessing.Process(target=_issue, args=(tmp_path, f"server-{n}")) for n in range(4)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(30)
        assert process.exitcode == 0
    ca = x509.load_pem_x509_certificate(LocalCA.load_or_create(tmp_path).cert_path.read_bytes())
    for n in range(4):
        server = x509.load_pem_x509_certificate((tmp_path / "tls" / f"server-{n}.pem").read_bytes())
        server.verify_directly_issued_by(ca)
    assert not (tmp_path / "tls" / ".ca.lock").exists()
