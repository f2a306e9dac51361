"""Microsoft's customization schemas (../shared/specs/dataverse-xsd), made loadable by xmlschema.

The set is the CRM 8.x/9.0-era one. Two kinds of change are made, in a temporary copy only:

1. .NET regular-expression dialect. .NET anchors every pattern and understands look-ahead; W3C
   XML Schema (and xmlschema) has neither. FormXml.xsd's `(?![cC][rR][mM]_)` look-ahead is
   dropped (specs/README.md), and the `^...$` of VersionType, PercentageType and
   FormPercentageType are dropped too: to xmlschema they are literal characters, so "1.0.0.0"
   and width="100%" (which every real export carries) would otherwise be invalid.
2. The 9.0.0.2090 schema's additions that our file uses. Microsoft's later
   CustomizationsSolution.xsd (published in MicrosoftDocs/powerapps-docs,
   customization-solutions-file-schema.md) declares `EntitySetName` and an `unmodified`
   attribute on <entity>, `NavigationPropertyName` and `RelationshipRoleType` on
   <EntityRelationshipRole>, and makes <ObjectTypeCode> optional. They are added here exactly
   as declared there. Nothing else is loosened: the schema is loaded strictly.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import xmlschema

SPECS = Path(
    os.environ.get("D365XERO_SPECS_DIR", Path(__file__).resolve().parents[3] / "shared" / "specs")
)
XSD_DIR = SPECS / "dataverse-xsd"

_OPTIONAL_ELEMENT = '<xs:element name="{}" type="{}" minOccurs="0" maxOccurs="1" />'


def _patch(text: str, pattern: str, replacement: str, count: int = 1) -> str:
    patched, n = re.subn(pattern, replacement, text, flags=re.DOTALL)
    assert n == count, f"schema patch {pattern!r} applied {n} times, expected {count}"
    return patched


def _dotnet_patterns(folder: Path) -> None:
    form = folder / "FormXml.xsd"
    form.write_text(_patch(form.read_text(), re.escape("(?![cC][rR][mM]_)"), ""))
    anchored = r'(<xs:pattern value=")\^([^"]*)\$(")'
    form.write_text(_patch(form.read_text(), anchored, r"\1\2\3"))
    fetch = folder / "Fetch.xsd"
    fetch.write_text(_patch(fetch.read_text(), anchored, r"\1\2\3"))
    main = folder / "CustomizationsSolution.xsd"
    main.write_text(_patch(main.read_text(), anchored, r"\1\2\3"))


def _schema_9_0_additions(folder: Path) -> None:
    path = folder / "CustomizationsSolution.xsd"
    text = path.read_text()
    text = _patch(
        text,
        r'(<xs:element name="ObjectTypeCode"\s+type="ObjectTypeCodeType"\s+)minOccurs="1"',
        r'\1minOccurs="0"',
    )
    text = _patch(
        text,
        r'(<xs:element name="entity">\s*<xs:complexType>\s*<xs:all>)',
        r"\1" + _OPTIONAL_ELEMENT.format("EntitySetName", "xs:string"),
    )
    text = _patch(
        text,
        r'(</xs:all>\s*<xs:attribute name="Name"\s+use="required"\s+'
        r'type="EntityAttributeNameBaseType" />)(\s*</xs:complexType>\s*</xs:element>\s*'
        r"</xs:choice>\s*</xs:complexType>\s*<xs:complexType name=\"ChannelPropertyGroupsType\">)",
        r'\1<xs:attribute name="unmodified" use="optional" type="TrueFalse01Type" />\2',
    )
    text = _patch(
        text,
        r'(<xs:element name="NavPaneOrder"\s+type="xs:nonNegativeInteger"\s+minOccurs="0"\s+'
        r'maxOccurs="1" />)',
        r"\1" + _OPTIONAL_ELEMENT.format("NavigationPropertyName", "xs:string"),
    )
    text = _patch(
        text,
        r'(<xs:element name="CustomLabels"\s+type="CustomLabelsType"\s+minOccurs="0"\s+'
        r'maxOccurs="1" />)(\s*<xs:element name="AssociationRoleOrdinal")',
        r"\1" + _OPTIONAL_ELEMENT.format("RelationshipRoleType", "xs:nonNegativeInteger") + r"\2",
    )
    path.write_text(text)


@pytest.fixture(scope="session")
def customizations_schema(tmp_path_factory: pytest.TempPathFactory) -> xmlschema.XMLSchema:
    if not XSD_DIR.is_dir():
        message = f"Microsoft's XSDs are not at {XSD_DIR} (set D365XERO_SPECS_DIR)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    folder = tmp_path_factory.mktemp("xsd") / "dataverse-xsd"
    shutil.copytree(XSD_DIR, folder)
    _dotnet_patterns(folder)
    _schema_9_0_additions(folder)
    return xmlschema.XMLSchema(folder / "CustomizationsSolution.xsd")
