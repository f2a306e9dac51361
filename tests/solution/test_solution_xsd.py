"""Every build's customizations.xml validates, strictly, against Microsoft's schema set (prepared
as conftest.py explains)."""

from __future__ import annotations

import io
import zipfile

import pytest
import xmlschema

from d365xero.solution.build import build_solution


def _customizations(version: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(build_solution(version))) as archive:
        return archive.read("customizations.xml")


@pytest.mark.parametrize("version", ["1.0.0.0", "1.7.3.12"])
def test_customizations_validate_against_microsofts_schema(
    customizations_schema: xmlschema.XMLSchema, version: str
) -> None:
    errors = [
        f"{e.path}: {e.reason}" for e in customizations_schema.iter_errors(_customizations(version))
    ]
    assert errors == []


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"<EntitySetName>", b"<Unknown /><EntitySetName>"),  # an element the schema lacks
        (b'level="Global"', b'level="Everywhere"'),  # a privilege depth that does not exist
        (b"<Type>nvarchar</Type>", b"<Type>string</Type>"),  # not a Dataverse data type
        (b'width="100%"', b'width="150%"'),  # the form percentage pattern still applies
    ],
)
def test_the_schema_is_strict_enough_to_catch_mistakes(
    customizations_schema: xmlschema.XMLSchema, old: bytes, new: bytes
) -> None:
    document = _customizations("1.0.0.0")
    assert old in document
    assert not customizations_schema.is_valid(document.replace(old, new, 1))
