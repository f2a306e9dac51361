"""Webhooks registered through the Web API (serviceendpoint + sdkmessageprocessingstep), delivered
as RemoteExecutionContext POSTs to a real receiver on a loopback port (PAD:use-webhooks.md)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tests.emulators.conftest import DataverseClient
from tests.support.dataverse_fixtures import DataverseHarness

from d365xero.emulators.core.server import ServerThread
from d365xero.emulators.core.tls import LocalCA
from d365xero.emulators.dataverse.app import create_app
from d365xero.emulators.dataverse.sample import sample_id
from d365xero.emulators.dataverse.webhooks import filter_id, message_id

DATUM = sample_id("account", "A. Datum Corporation (sample)")


@dataclass
class Receiver:
    url: str
    calls: list[dict[str, Any]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # statuses to answer with, in turn


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    box = Receiver("")

    async def hook(request: Request) -> Response:
        box.calls.append(
            {
                "path": request.url.path,
                "query": dict(request.query_params),
                "headers": dict(request.headers),
                "json": await request.json(),
            }
        )
        return Response(status_code=box.answers.pop(0) if box.answers else 200)

    app = Starlette(routes=[Route("/hooks/{name}", hook, methods=["POST"])])
    with ServerThread(app) as server:
        box.url = server.url
        yield box


def _register(
    dv: DataverseClient,
    url: str,
    message: str,
    *,
    mode: int = 1,
    entity: str = "invoice",
    filtering: str | None = None,
    auth: tuple[int, str] = (4, "s3cret"),
) -> str:
    endpoint = dv.create(
        "serviceendpoints",
        {
            "name": "d365xero",
            "contract": 8,
            "url": url,
            "authtype": auth[0],
            "authvalue": auth[1],
            "messageformat": 2,
            "userclaim": 1,
            "connectionmode": 1,
        },
    )
    step: dict[str, Any] = {
        "name": f"d365xero: {message} of {entity}",
        "eventhandler_serviceendpoint@odata.bind": f"/serviceendpoints({endpoint})",
        "sdkmessageid@odata.bind": f"/sdkmessages({message_id(message)})",
        "sdkmessagefilterid@odata.bind": f"/sdkmessagefilters({filter_id(entity, message)})",
        "mode": mode,
        "stage": 40,
        "rank": 1,
        "asyncautodelete": False,
        "supporteddeployment": 0,
    }
    if filtering:
        step["filteringattributes"] = filtering
    return dv.create("sdkmessageprocessingsteps", step)


def _invoice(dv: DataverseClient, name: str = "Hooked") -> str:
    return dv.create(
        "invoices", {"name": name, "customerid_account@odata.bind": f"/accounts({DATUM})"}
    )


def test_messages_and_filters_are_there_to_bind(dv: DataverseClient) -> None:
    found = dv.get(
        "sdkmessagefilters",
        params={
            "$select": "primaryobjecttypecode",
            "$filter": "primaryobjecttypecode eq 'invoice' and sdkmessageid/name eq 'Create'",
        },
    ).json()["value"]
    assert [f["sdkmessagefilterid"] for f in found] == [filter_id("invoice", "Create")]


def test_async_create_delivers_the_remote_execution_context(
    dv: DataverseClient, dataverse_app: DataverseHarness, receiver: Receiver
) -> None:
    step = _register(dv, f"{receiver.url}/hooks/created", "Create")
    endpoint = dv.get("serviceendpoints?$select=authvalue,url").json()["value"][0]
    assert endpoint["authvalue"] is None  # write-only
    invoice = _invoice(dv)
    dataverse_app.org.webhooks.drain()
    [call] = receiver.calls
    assert call["query"] == {"code": "s3cret"}
    headers = call["headers"]
    assert headers["x-ms-dynamics-entity-name"] == "invoice"
    assert headers["x-ms-dynamics-request-name"] == "Create"
    assert headers["x-ms-correlation-request-id"] == call["json"]["CorrelationId"]
    body = call["json"]
    assert (body["MessageName"], body["PrimaryEntityName"], body["PrimaryEntityId"]) == (
        "Create",
        "invoice",
        invoice,
    )
    assert body["Mode"] == 1 and body["Stage"] == 40
    assert body["OwningExtension"]["Id"] == step
    assert body["OutputParameters"] == [{"key": "id", "value": invoice}]
    target = body["InputParameters"][0]["value"]
    assert target["__type"] == "Entity:http://schemas.microsoft.com/xrm/2011/Contracts"
    attributes = {a["key"]: a["value"] for a in target["Attributes"]}
    assert attributes["name"] == "Hooked"
    assert attributes["customerid"]["LogicalName"] == "account"
    assert attributes["customerid"]["Name"] == "A. Datum Corporation (sample)"
    assert attributes["statecode"] == {
        "__type": "OptionSetValue:http://schemas.microsoft.com/xrm/2011/Contracts",
        "Value": 0,
    }
    jobs = dv.get(
        f"asyncoperations?$select=statuscode&$filter=_owningextensionid_value eq {step}"
    ).json()["value"]
    assert [j["statuscode"] for j in jobs] == [30]


def test_update_step_fires_only_for_its_filtering_attributes(
    dv: DataverseClient, dataverse_app: DataverseHarness, receiver: Receiver
) -> None:
    invoice = _invoice(dv)
    _register(dv, f"{receiver.url}/hooks/updated", "Update", filtering="name,duedate")
    dv.patch(f"invoices({invoice})", json={"description": "not watched"})
    dv.patch(f"invoices({invoice})", json={"name": "Renamed"})
    dataverse_app.org.webhooks.drain()
    [call] = receiver.calls
    attributes = {
        a["key"]: a["value"] for a in call["json"]["InputParameters"][0]["value"]["Attributes"]
    }
    assert attributes == {"name": "Renamed", "invoiceid": invoice}


def test_delete_sends_an_entity_reference(
    dv: DataverseClient, dataverse_app: DataverseHarness, receiver: Receiver
) -> None:
    invoice = _invoice(dv)
    _register(dv, f"{receiver.url}/hooks/deleted", "Delete")
    dv.delete(f"invoices({invoice})")
    dataverse_app.org.webhooks.drain()
    target = receiver.calls[0]["json"]["InputParameters"][0]["value"]
    assert target["__type"] == "EntityReference:http://schemas.microsoft.com/xrm/2011/Contracts"
    assert target["Id"] == invoice


def test_a_failing_synchronous_step_fails_the_operation(
    dv: DataverseClient, receiver: Receiver
) -> None:
    _register(dv, f"{receiver.url}/hooks/sync", "Create", mode=0)
    receiver.answers = [500]
    response = dv.post("invoices", json={"name": "Refused"})
    assert response.status_code == 400
    assert "Webhook call failed" in response.json()["error"]["message"]
    assert not dv.get("invoices?$filter=name eq 'Refused'").json()["value"]
    assert _invoice(dv, "Accepted")  # the next call is answered 200
    assert len(receiver.calls) == 2


def test_async_retry_once_on_503_then_a_failed_system_job(
    dv: DataverseClient, dataverse_app: DataverseHarness, receiver: Receiver
) -> None:
    step = _register(dv, f"{receiver.url}/hooks/flaky", "Create")
    receiver.answers = [503, 503]
    _invoice(dv)
    dataverse_app.org.webhooks.drain()
    assert len(receiver.calls) == 2  # one retry, then given up
    jobs = dv.get(
        f"asyncoperations?$select=statuscode,message&$filter=_owningextensionid_value eq {step}"
    ).json()["value"]
    assert [j["statuscode"] for j in jobs] == [31]
    assert "503" in jobs[0]["message"]
    receiver.answers = [400]
    _invoice(dv)
    dataverse_app.org.webhooks.drain()
    assert len(receiver.calls) == 3  # a 400 is not retried


def test_http_header_auth_and_rolled_back_changes_send_nothing(
    dv: DataverseClient, dataverse_app: DataverseHarness, receiver: Receiver
) -> None:
    settings = '<settings><setting name="x-api-key" value="k1" /></settings>'
    _register(dv, f"{receiver.url}/hooks/header", "Create", entity="account", auth=(5, settings))
    dv.create("accounts", {"name": "Header Ltd"})
    dataverse_app.org.webhooks.drain()
    assert receiver.calls[0]["headers"]["x-api-key"] == "k1"
    # A change set that fails never happened, so no webhook fires for its first create.
    batch = (
        "--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n"
        "--c\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        'POST accounts HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{"name": "Ghost"}\r\n'
        "--c\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        'POST accounts HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{"nmae": "x"}\r\n'
        "--c--\r\n--b--\r\n"
    )
    response = dv.post(
        "$batch", content=batch.encode(), headers={"Content-Type": "multipart/mixed; boundary=b"}
    )
    assert response.status_code == 400
    dataverse_app.org.webhooks.drain()
    assert len(receiver.calls) == 1


def test_recalculated_totals_are_an_update_of_the_invoice(
    dv: DataverseClient, dataverse_app: DataverseHarness, receiver: Receiver
) -> None:
    invoice = _invoice(dv)
    _register(dv, f"{receiver.url}/hooks/totals", "Update", filtering="totalamount")
    dv.create(
        "invoicedetails",
        {
            "invoiceid@odata.bind": f"/invoices({invoice})",
            "isproductoverridden": True,
            "productdescription": "Consulting",
            "quantity": 2,
            "priceperunit": 50,
        },
    )
    dataverse_app.org.webhooks.drain()
    [call] = receiver.calls
    attributes = {
        a["key"]: a["value"] for a in call["json"]["InputParameters"][0]["value"]["Attributes"]
    }
    assert attributes["totalamount"]["Value"] == 100.0


def test_https_endpoints_are_trusted_through_the_ca_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = LocalCA.load_or_create(tmp_path)
    monkeypatch.setenv("D365XERO_CA_BUNDLE", str(ca.cert_path))
    seen: list[str] = []

    async def hook(request: Request) -> Response:
        seen.append((await request.json())["MessageName"])
        return Response(status_code=204)

    receiver = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    harness = DataverseHarness(create_app())
    dv = DataverseClient(harness.client(), harness.headers())
    with ServerThread(receiver, tls=ca.issue("receiver")) as server:
        _register(dv, f"{server.url}/hook", "Create", entity="account")
        dv.create("accounts", {"name": "Over TLS"})
        harness.org.webhooks.drain()
    harness.close()
    assert seen == ["Create"]
