"""The fidelity proof: Microsoft's own Dataverse SDK (powerplatform-dataverse-client), unmodified,
runs a scripted tour against the emulator over HTTPS with a token msal got from the emulator's
Entra endpoint."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import msal
import pytest
import requests
from azure.core.credentials import AccessToken
from PowerPlatform.Dataverse.client import DataverseClient
from tests.support.dataverse_fixtures import DataverseServer

from d365xero.emulators.dataverse.sample import sample_id


class EmulatorCredential:
    """An azure-core TokenCredential backed by msal against the emulator's Entra endpoint."""

    def __init__(self, server: DataverseServer, session: requests.Session) -> None:
        self.app = msal.ConfidentialClientApplication(
            "d365xero-demo",
            client_credential="demo-secret",
            authority=f"{server.url}/demo-tenant",
            instance_discovery=False,
            http_client=session,
        )

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        result = self.app.acquire_token_for_client(scopes=list(scopes))
        assert "access_token" in result, result
        return AccessToken(result["access_token"], int(time.time()) + int(result["expires_in"]))


@pytest.fixture
def client(
    dataverse_server: DataverseServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[DataverseClient]:
    # The SDK makes its own requests.Session, which trusts REQUESTS_CA_BUNDLE.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(dataverse_server.ca_file))
    dataverse_server.org.seed()
    with requests.Session() as session:
        session.verify = str(dataverse_server.ca_file)
        credential = EmulatorCredential(dataverse_server, session)
        with DataverseClient(dataverse_server.url, credential) as sdk:
            yield sdk


def test_sdk_tour(client: DataverseClient, dataverse_server: DataverseServer) -> None:
    # create
    account_id = client.records.create("account", {"name": "Tour Ltd", "telephone1": "0100"})
    ids = client.records.create(
        "contact",
        [
            {
                "firstname": "Ada",
                "lastname": "Tour",
                "parentcustomerid_account@odata.bind": f"/accounts({account_id})",
            },
            {
                "firstname": "Bob",
                "lastname": "Tour",
                "parentcustomerid_account@odata.bind": f"/accounts({account_id})",
            },
        ],
    )
    assert len(ids) == 2

    # read
    record = client.records.retrieve("account", account_id, select=["name", "telephone1"])
    assert record is not None and record["name"] == "Tour Ltd"

    # list with filter, expand and paging
    found = client.records.list(
        "contact",
        filter="lastname eq 'Tour'",
        select=["firstname", "_parentcustomerid_value"],
        expand=["parentcustomerid_account($select=name)"],
        orderby=["firstname asc"],
    )
    assert [r["firstname"] for r in found] == ["Ada", "Bob"]
    assert found[0]["parentcustomerid_account"]["name"] == "Tour Ltd"
    pages = list(client.records.list_pages("account", select=["name"], page_size=4))
    assert [len(p) for p in pages] == [4, 4, 3]

    # update
    client.records.update("account", account_id, {"telephone1": "0200"})
    assert (
        client.records.retrieve("account", account_id, select=["telephone1"])["telephone1"]
        == "0200"
    )

    # batch: a change set and a read
    batch = client.batch.new()
    with batch.changeset() as changeset:
        ref = changeset.records.create("account", {"name": "Batch Ltd"})
        changeset.records.update("account", ref, {"telephone1": "0300"})
    batch.records.retrieve(
        "account", sample_id("account", "Fourth Coffee (sample)"), select=["name"]
    )
    result = batch.execute()
    assert not result.has_errors, result
    batched = client.records.list("account", filter="name eq 'Batch Ltd'", select=["telephone1"])
    assert [r["telephone1"] for r in batched] == ["0300"]

    # upsert through an alternate key the SDK defines
    client.tables.create_alternate_key("account", "dxc_accountnumber_key", ["accountnumber"])
    client.records.upsert(
        "account",
        [{"alternate_key": {"accountnumber": "UP-1"}, "record": {"name": "Upserted Ltd"}}],
    )
    client.records.upsert(
        "account",
        [{"alternate_key": {"accountnumber": "UP-1"}, "record": {"name": "Upserted again"}}],
    )
    upserted = client.records.list("account", filter="accountnumber eq 'UP-1'", select=["name"])
    assert [r["name"] for r in upserted] == ["Upserted again"]

    # delete
    client.records.delete("account", account_id)
    assert client.records.retrieve("account", account_id) is None

    calls = dataverse_server.org.calls.snapshot()
    assert calls["POST /api/data/v9.2/contacts/{action}"] == 1  # CreateMultiple
    assert calls["POST /api/data/v9.2/$batch"] == 1
    assert calls["PATCH /api/data/v9.2/accounts({key})"] == 3  # update, then two upserts
    assert calls["GET /api/data/v9.2/EntityDefinitions"] >= 1  # how the SDK finds tables
