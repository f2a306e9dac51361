"""Microsoft's customization schemas (specs/, see specs/README.md), made loadable by xmlschema.

The main schema is Microsoft's 9.0.0.2090 CustomizationsSolution.xsd, the one current Dataverse
exports follow; the files it includes are the older set beside it (specs/dataverse-xsd). Two
changes are made, in a temporary copy only, each asserted to apply exactly once:

1. `ColorsType`, which the 9.0 schema uses and only the 9.x Fetch.xsd defines, is added to the
   older Fetch.xsd as Microsoft's "FetchXML schema" page declares it.
2. .NET regular-expression dialect. .NET anchors every pattern and understands look-ahead; W3C
   XML Schema (and xmlschema) has neither. FormXml.xsd's `(?![cC][rR][mM]_)` look-ahead is
   dropped, and the `^...$` of VersionType, PercentageType and FormPercentageType are dropped
   too: to xmlschema they are literal characters, so "1.0.0.0" and width="100%" (which every
   real export carries) would otherwise be invalid.

Nothing else is loosened: the schema is loaded strictly.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import xmlschema

SPECS = Path(__file__).resolve().parents[2] / "specs"

_COLORS_TYPE = (
    '<xs:complexType name="ColorsType"><xs:sequence><xs:element name="Color" '
    'type="FieldXmlFieldUIType" minOccurs="0" maxOccurs="unbounded" /></xs:sequence>'
    "</xs:complexType>"
)


def _patch(path: Path, pattern: str, replacement: str) -> None:
    patched, n = re.subn(pattern, replacement, path.read_text(), flags=re.DOTALL)
    assert n == 1, f"schema patch {pattern!r} applied {n} times to {path.name}, expected 1"
    path.write_text(patched)


def _add_colors_type(folder: Path) -> None:
    _patch(folder / "Fetch.xsd", r"(</xs:schema>\s*)$", _COLORS_TYPE + r"\n\1")


def _dotnet_patterns(folder: Path) -> None:
    _patch(folder / "FormXml.xsd", re.escape("(?![cC][rR][mM]_)"), "")
    anchored = r'(<xs:pattern value=")\^([^"]*)\$(")'
    for name in ("FormXml.xsd", "Fetch.xsd", "CustomizationsSolution.xsd"):
        _patch(folder / name, anchored, r"\1\2\3")


@pytest.fixture(scope="session")
def customizations_schema(tmp_path_factory: pytest.TempPathFactory) -> xmlschema.XMLSchema:
    folder = tmp_path_factory.mktemp("xsd") / "dataverse-xsd"
    shutil.copytree(SPECS / "dataverse-xsd", folder)
    shutil.copy(SPECS / "dataverse-xsd-9.0" / "CustomizationsSolution.xsd", folder)
    _add_colors_type(folder)
    _dotnet_patterns(folder)
    return xmlschema.XMLSchema(folder / "CustomizationsSolution.xsd")
