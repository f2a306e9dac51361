"""The CA bundle file that xero-python and msal read: written by the process itself into the
data folder, private, never a file planted in the system temp folder, and one per content."""

from __future__ import annotations

import hashlib
import stat
import tempfile
from pathlib import Path

import certifi
import pytest
import requests
from starlette.types import Receive, Scope, Send

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
def system_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system's temp folder, as this process sees it, made empty."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_a_planted_ca_is_not_trusted(tmp_path: Path, system_tmp: Path) -> None:
    ours = LocalCA.load_or_create(tmp_path / "ours")
    planted = LocalCA.load_or_create(tmp_path / "planted")
    pem = Path(certifi.where()).read_bytes() + b"\n" + ours.cert_path.read_bytes()
    name = f"ca-{hashlib.sha256(pem).hexdigest()[:16]}.pem"
    # Where earlier versions looked first, and where this one writes, with loose permissions.
    old_path = system_tmp / f"d365xero-{name}"
    old_path.write_bytes(pem + planted.cert_path.read_bytes())
    data_dir = tmp_path / "data"
    (data_dir / "trust").mkdir(parents=True, mode=0o777)
    (data_dir / "trust" / name).write_bytes(pem + planted.cert_path.read_bytes())

    bundle = Path(ca_bundle_file(ours.cert_path, data_dir))

    assert bundle.parent == data_dir / "trust"
    assert stat.S_IMODE(bundle.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(bundle.stat().st_mode) == 0o600
    with (
        ServerThread(_hello, tls=planted.issue("planted")) as server,
        pytest.raises(requests.exceptions.SSLError),
    ):
        requests.get(server.url, verify=str(bundle), timeout=10)
    with ServerThread(_hello, tls=ours.issue("ours")) as server:
        assert requests.get(server.url, verify=str(bundle), timeout=10).text == "hello"


def test_clients_leave_no_files_behind(tmp_path: Path, system_tmp: Path) -> None:
    ca = LocalCA.load_or_create(tmp_path)
    settings = Settings(data_dir=tmp_path / "data", ca_bundle=ca.cert_path)
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

    assert list(system_tmp.iterdir()) == []
    [bundle] = (settings.data_dir / "trust").iterdir()
    assert ca.cert_path.read_bytes() in bundle.read_bytes()
