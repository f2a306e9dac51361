"""The Dataverse emulator's ImportSolution action: the built zip creates our tables in an
organisation that started without them; a newer version adds columns and keeps data; bad files
are refused with Dataverse's errors."""

from __future__ import annotations

import base64
import io
import uuid
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from tests.support.dataverse_fixtures import API, DataverseHarness

from d365xero.emulators.dataverse.app import create_app
from d365xero.emulators.dataverse.definitions import attribute_definition, entity_definition
from d365xero.emulators.dataverse.metadata import Metadata
from d365xero.solution import schema
from d365xero.solution.build import build_solution


@pytest.fixture
def bare() -> Iterator[DataverseHarness]:
    harness = DataverseHarness(create_app(with_solution=False))
    yield harness
    harness.close()


def _import(harness: DataverseHarness, data: bytes | str, **overrides: Any) -> Any:
    body = {
        "OverwriteUnmanagedCustomizations": True,
        "PublishWorkflows": True,
        "CustomizationFile": data if isinstance(data, str) else base64.b64encode(data).decode(),
        "ImportJobId": str(uuid.uuid4()),
        **overrides,
    }
    body = {k: v for k, v in body.items() if v is not None}
    return harness.client().post(f"{API}/ImportSolution", json=body, headers=harness.headers())


def _described(metadata: Metadata) -> dict[str, Any]:
    """Everything EntityDefinitions serves about each table and column."""
    return {
        name: (
            entity_definition(entity),
            {a: attribute_definition(entity, attr) for a, attr in entity.attributes.items()},
            sorted(entity.single_navs),
            sorted(entity.collection_navs),
        )
        for name, entity in metadata.entities.items()
    }


def test_import_creates_the_tables_an_emulator_with_the_solution_has(
    bare: DataverseHarness,
) -> None:
    assert "dxc_xerodetail" not in bare.org.metadata.entities
    response = _import(bare, build_solution())
    assert response.status_code == 204, response.text
    assert response.content == b""
    with_solution = create_app().state.emulator.metadata
    assert _described(bare.org.metadata) == _described(with_solution)


def test_imported_tables_work_through_the_web_api(bare: DataverseHarness) -> None:
    assert _import(bare, build_solution()).status_code == 204
    client, headers = bare.client(), bare.headers()
    invoices = client.get(f"{API}/invoices", headers=headers).json()["value"]
    created = client.post(
        f"{API}/dxc_connections", json={"dxc_name": "Demo Company (UK)"}, headers=headers
    )
    assert created.status_code == 204, created.text
    connection = created.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")
    rows = client.get(f"{API}/dxc_connections", headers=headers).json()["value"]
    assert [r["dxc_name"] for r in rows] == ["Demo Company (UK)"]
    definitions = client.get(
        f"{API}/EntityDefinitions",
        params={"$filter": "LogicalName eq 'dxc_synchistory'", "$select": "EntitySetName"},
        headers=headers,
    ).json()["value"]
    assert definitions[0]["EntitySetName"] == "dxc_synchistories"
    assert connection and isinstance(invoices, list)


def _older(data: bytes, version: str) -> bytes:
    """The build as an older version that had neither the payment table nor Amount overdue."""
    source = zipfile.ZipFile(io.BytesIO(data))
    root = ET.fromstring(source.read("customizations.xml"))
    entities = root.find("Entities")
    assert entities is not None
    for holder in list(entities):
        if holder.findtext("Name") == "dxc_Payment":
            entities.remove(holder)
    for attributes in root.iter("attributes"):
        for attribute in list(attributes):
            if attribute.get("PhysicalName") == "dxc_AmountOverdue":
                attributes.remove(attribute)
    relationships = root.find("EntityRelationships")
    assert relationships is not None
    for rel in list(relationships):
        if rel.findtext("ReferencingEntityName") == "dxc_Payment":
            relationships.remove(rel)
    manifest = source.read("solution.xml").replace(
        f"<Version>{schema.SOLUTION_VERSION}</Version>".encode(),
        f"<Version>{version}</Version>".encode(),
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        target.writestr("[Content_Types].xml", source.read("[Content_Types].xml"))
        target.writestr("solution.xml", manifest)
        target.writestr("customizations.xml", ET.tostring(root))
    return out.getvalue()


def test_upgrade_adds_new_columns_and_keeps_the_data(bare: DataverseHarness) -> None:
    assert _import(bare, _older(build_solution(), "1.0.0.0")).status_code == 204
    org = bare.org
    assert "dxc_payment" not in org.metadata.entities
    assert "dxc_amountoverdue" not in org.entity("account").attributes
    org.seed()
    client, headers = bare.client(), bare.headers()
    account = client.get(f"{API}/accounts", headers=headers).json()["value"][0]
    url = f"{API}/accounts({account['accountid']})"
    written = {"dxc_xerocontactid": "6d42f03b-181f-43e3-93fb-2025c012de92", "dxc_amountowed": 648}
    assert client.patch(url, json=written, headers=headers).status_code == 204
    connection = client.post(
        f"{API}/dxc_connections", json={"dxc_name": "Demo Company (UK)"}, headers=headers
    )
    assert connection.status_code == 204, connection.text
    before = client.get(url, headers=headers).json()
    connections = client.get(f"{API}/dxc_connections", headers=headers).json()["value"]

    assert _import(bare, build_solution("1.1.0.0")).status_code == 204

    after = client.get(url, headers=headers).json()
    assert after.pop("dxc_amountoverdue") is None  # the new column, empty on existing rows
    assert after == before
    assert client.get(f"{API}/dxc_connections", headers=headers).json()["value"] == connections
    overdue = client.patch(url, json={"dxc_amountoverdue": 648}, headers=headers)
    assert overdue.status_code == 204, overdue.text
    assert client.get(url, headers=headers).json()["dxc_amountoverdue"] == 648
    payment = client.post(f"{API}/dxc_payments", json={"dxc_name": "Payment"}, headers=headers)
    assert payment.status_code == 204, payment.text


def _error(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    return str(body["error"]["message"])


def _manifest_edit(old: bytes, new: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(build_solution()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            if name == "solution.xml":
                assert old in data
                data = data.replace(old, new)
            target.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        b"PK\x03\x04 not really a zip",
        b"plain text",
        build_solution()[:3000],
    ],
    ids=["fake-zip-header", "not-a-zip", "truncated"],
)
def test_a_file_that_is_not_a_solution_is_refused_as_dataverse_does(
    bare: DataverseHarness, data: bytes
) -> None:
    message = _error(_import(bare, data), 400, "0x80048060")
    assert message.startswith("The solution file is invalid.")
    assert "dxc_xerodetail" not in bare.org.metadata.entities


def test_base64_that_does_not_decode_is_refused(bare: DataverseHarness) -> None:
    _error(_import(bare, "!!! not base64 !!!"), 400, "0x80048060")


def test_a_package_for_a_newer_platform_is_refused(bare: DataverseHarness) -> None:
    newer = _manifest_edit(b'SolutionPackageVersion="9.1"', b'SolutionPackageVersion="9.3"')
    message = _error(_import(bare, newer), 400, "0x80048068")
    assert "package version of 9.2 or earlier" in message


def test_another_solution_or_a_newer_major_version_is_refused(bare: DataverseHarness) -> None:
    other = _manifest_edit(b"<UniqueName>d365xero<", b"<UniqueName>Contoso<")
    assert "'Contoso'" in _error(_import(bare, other), 400, "0x80040203")
    newer = _error(_import(bare, build_solution("2.0.0.0")), 400, "0x80040203")
    assert "2.0.0.0" in newer
    assert "dxc_xerodetail" not in bare.org.metadata.entities


def test_missing_parameters_and_bad_json_are_refused(bare: DataverseHarness) -> None:
    missing = _import(bare, build_solution(), CustomizationFile=None)
    assert "CustomizationFile" in _error(missing, 400, "0x80040203")
    bad_job = _import(bare, build_solution(), ImportJobId="job-1")
    _error(bad_job, 400, "0x80040203")
    not_json = bare.client().post(
        f"{API}/ImportSolution", content=b"{not json", headers=bare.headers()
    )
    _error(not_json, 400, "0x80048d19")


def test_import_needs_a_token(bare: DataverseHarness) -> None:
    response = bare.client().post(f"{API}/ImportSolution", json={})
    assert response.status_code == 401
