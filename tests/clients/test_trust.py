"""The CA bundle file that xero-python and msal read: private to the process that wrote it, never
a file planted in the system temp folder, and gone when the process ends."""

from __future__ import annotations

import hashlib
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import certifi
import pytest
import requests
from starlette.types import Receive, Scope, Send

from d365xero import trust
from d365xero.config import Settings
from d365xero.emulators.core.server import ServerThread
from d365xero.emulators.core.tls import LocalCA
from d365xero.jobs.clients import build_clients
from d365xero.store.models import Connection
from d365xero.trust import ca_bundle_file


async def _hello(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"hello"})


@pytest.fixture
def system_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The system's temp folder, as this process sees it, made empty; and no bundle written yet."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.setattr(trust, "_bundles", trust._Bundles())
    yield folder


def test_a_ca_planted_at_the_old_predictable_path_is_not_trusted(
    tmp_path: Path, system_tmp: Path
) -> None:
    ours = LocalCA.load_or_create(tmp_path / "ours")
    planted = LocalCA.load_or_create(tmp_path / "planted")
    # What another local user could leave where earlier versions looked first.
    pem = Path(certifi.where()).read_bytes() + b"\n" + ours.cert_path.read_bytes()
    old_path = system_tmp / f"d365xero-ca-{hashlib.sha256(pem).hexdigest()[:16]}.pem"
    old_path.write_bytes(pem + planted.cert_path.read_bytes())

    bundle = ca_bundle_file(ours.cert_path)

    assert Path(bundle) != old_path
    with (
        ServerThread(_hello, tls=planted.issue("planted")) as server,
        pytest.raises(requests.exceptions.SSLError),
    ):
        requests.get(server.url, verify=bundle, timeout=10)
    with ServerThread(_hello, tls=ours.issue("ours")) as server:
        assert requests.get(server.url, verify=bundle, timeout=10).text == "hello"


def test_every_client_reuses_one_private_file(tmp_path: Path, system_tmp: Path) -> None:
    ca = LocalCA.load_or_create(tmp_path)
    settings = Settings(data_dir=tmp_path, ca_bundle=ca.cert_path)
    connection = Connection(
        name="trust",
        xero_url="https://127.0.0.1:9",
        xero_client_id="xero-app",
        xero_tenant_id="tenant",
        dataverse_url="https://127.0.0.1:9",
        dataverse_tenant="tenant",
        dataverse_client_id="dataverse-app",
        dataverse_authority="https://127.0.0.1:9",
        dataverse_connection_row_id="row",
    )
    secrets = {"xero_client_secret": "s", "dataverse_client_secret": "s"}
    for _ in range(5):
        build_clients(settings, connection, secrets).close()

    [folder] = system_tmp.iterdir()
    [bundle] = folder.iterdir()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(bundle.stat().st_mode) == 0o600
    assert ca.cert_path.read_bytes() in bundle.read_bytes()


def test_the_file_is_removed_when_the_process_ends(tmp_path: Path) -> None:
    ca = LocalCA.load_or_create(tmp_path)
    system_tmp = tmp_path / "tmp"
    system_tmp.mkdir()
    script = (
        "import sys, pathlib, d365xero.trust as t\n"
        "print(t.ca_bundle_file(pathlib.Path(sys.argv[1])))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(ca.cert_path)],
        env={"TMPDIR": str(system_tmp), "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert Path(done.stdout.strip()).is_relative_to(system_tmp)
    assert list(system_tmp.iterdir()) == []
