"""A stored connection's URLs pass the URL policy again when its clients are built: a row written
before the policy, or edited by hand, never sends a secret over plain http."""

from __future__ import annotations

from pathlib import Path

import pytest

from d365xero.config import Settings
from d365xero.errors import ConfigurationError
from d365xero.jobs.clients import build_clients
from d365xero.store.models import Connection

SECRETS = {"xero_client_secret": "x-secret", "dataverse_client_secret": "d-secret"}


def _stored(**urls: str) -> Connection:
    fields = {
        "xero_url": "https://api.xero.com",
        "dataverse_url": "https://org.crm.dynamics.com",
        "dataverse_authority": "https://login.microsoftonline.com",
        **urls,
    }
    return Connection(
        id="c1",
        name="Old",
        secrets="sealed",
        xero_client_id="xero-app",
        dataverse_tenant="tenant",
        dataverse_client_id="dv-app",
        dataverse_connection_row_id="00000000-0000-0000-0000-000000000001",
        **fields,
    )


@pytest.mark.parametrize(
    ("field", "what"),
    [
        ("xero_url", "the Xero URL"),
        ("dataverse_url", "the Dynamics URL"),
        ("dataverse_authority", "the Entra ID authority"),
    ],
)
def test_a_stored_plain_http_url_is_refused(tmp_path: Path, field: str, what: str) -> None:
    connection = _stored(**{field: "http://remote.example.com"})
    with pytest.raises(ConfigurationError) as refused:
        build_clients(Settings(data_dir=tmp_path), connection, SECRETS)
    assert str(refused.value).startswith(
        f"{what} of connection 'Old' http://remote.example.com is plain http"
    )


def test_stored_https_and_loopback_urls_build(tmp_path: Path) -> None:
    connection = _stored(xero_url="http://127.0.0.1:8001", dataverse_url="http://localhost:8002")
    clients = build_clients(Settings(data_dir=tmp_path), connection, SECRETS)
    assert clients.dataverse.org_url == "http://localhost:8002"
    clients.close()
