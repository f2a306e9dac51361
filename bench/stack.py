"""The stack a benchmark runs against, each part in its own process as a user runs it: both
emulators (`d365xero emulate ... --tls --seed --no-rate-limits`) and the connector's store with
one connection made by `d365xero connection add`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from d365xero.emulators.core.server import free_port
from d365xero.trust import ssl_context

D365XERO = [sys.executable, "-m", "d365xero.cli"]
CLIENT_ID, CLIENT_SECRET, TENANT = "d365xero-demo", "demo-secret", "demo-tenant"
CONNECTION = "Bench"
START_TIMEOUT = 60.0


def env(data_dir: Path, **more: str) -> dict[str, str]:
    """This environment without any D365XERO_ setting of the caller's, plus ours."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("D365XERO_")}
    clean.update(D365XERO_DATA_DIR=str(data_dir), **more)
    return clean


@dataclass
class Emulator:
    service: str
    process: subprocess.Popen[str]
    url: str
    ca: Path

    def control(self, method: str, path: str) -> Any:
        with httpx.Client(verify=ssl_context(self.ca), timeout=60) as http:
            response = http.request(method, f"{self.url}/_emulator/{path}")
            response.raise_for_status()
            return response.json() if response.content else None

    def cpu_seconds(self) -> float:
        """User + system CPU of the emulator process so far (Linux /proc), 0.0 elsewhere."""
        stat = Path(f"/proc/{self.process.pid}/stat")
        if not stat.exists():
            return 0.0
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def calls(self) -> dict[str, int]:
        return dict(self.control("GET", "calls"))

    def clear_calls(self) -> None:
        self.control("DELETE", "calls")


def start_emulator(service: str, data_dir: Path) -> Emulator:
    """Started with its output in <data_dir>/<service>.log (read here for the CA path)."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / f"{service}.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                *D365XERO,
                "emulate",
                service,
                "--port",
                str(port),
                "--tls",
                "--seed",
                "--no-rate-limits",
            ],
            env=env(data_dir),
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    url = f"https://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the {service} emulator exited: {log.read_text()}")
        match = re.search(r"CA certificate: (\S+)", log.read_text())
        if match:
            emulator = Emulator(service, process, url, Path(match.group(1)))
            try:
                emulator.calls()
                return emulator
            except (httpx.TransportError, OSError):
                pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"the {service} emulator did not start: {log.read_text()}")


@dataclass
class Stack:
    workdir: Path
    xero: Emulator
    dataverse: Emulator
    connector_env: dict[str, str] = field(default_factory=dict)

    @property
    def ca(self) -> Path:
        return self.xero.ca

    def stop(self) -> None:
        for emulator in (self.xero, self.dataverse):
            emulator.process.terminate()
        for emulator in (self.xero, self.dataverse):
            try:
                emulator.process.wait(10)
            except subprocess.TimeoutExpired:
                emulator.process.kill()
                emulator.process.wait()

    def __enter__(self) -> Stack:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_stack(workdir: Path, **settings: str) -> Stack:
    """Both emulators (sharing one local CA) and a connection to them in a fresh store;
    `settings`: more D365XERO_ variables for the connector (e.g. D365XERO_DATABASE_URL)."""
    emulators = workdir / "emulators"
    xero = start_emulator("xero", emulators)
    try:
        dataverse = start_emulator("dataverse", emulators)
    except BaseException:
        xero.process.kill()
        raise
    stack = Stack(workdir, xero, dataverse)
    try:
        stack.connector_env = env(
            workdir / "connector", D365XERO_CA_BUNDLE=str(xero.ca), **settings
        )
        _connection_add(stack)
    except BaseException:
        stack.stop()
        raise
    return stack


def _connection_add(stack: Stack) -> None:
    args = [
        *D365XERO, "connection", "add", "--name", CONNECTION,
        "--xero-url", stack.xero.url,
        "--xero-client-id", CLIENT_ID, "--xero-client-secret", CLIENT_SECRET,
        "--dataverse-url", stack.dataverse.url, "--dataverse-tenant", TENANT,
        "--dataverse-client-id", CLIENT_ID, "--dataverse-client-secret", CLIENT_SECRET,
        "--dataverse-authority", stack.dataverse.url,
    ]  # fmt: skip
    done = subprocess.run(
        args, env=stack.connector_env, capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        raise RuntimeError(f"connection add failed: {done.stdout}{done.stderr}")
