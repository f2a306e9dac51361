"""Reads a solution zip back: what it is (name, version, publisher) and the tables and columns it
defines, or a plain refusal when it is not a zip, is damaged, is not ours, or is newer than this
d365xero understands."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile
import zlib
from dataclasses import dataclass
from enum import StrEnum

from d365xero.errors import ConfigurationError
from d365xero.solution.build import CUSTOMIZATIONS, SOLUTION, VERSION_PATTERN
from d365xero.solution.schema import (
    PUBLISHER_PREFIX,
    SOLUTION_UNIQUE_NAME,
    SOLUTION_VERSION,
    Column,
    ColumnType,
    Option,
    Table,
    TableExtension,
)
from d365xero.solution.xmltools import LANGUAGE

SUPPORTED_MAJOR = int(SOLUTION_VERSION.split(".")[0])
MAX_UNPACKED_BYTES = 64 * 1024 * 1024  # far above any real solution of ours; stops zip bombs


class Refusal(StrEnum):
    NOT_A_ZIP = "not a zip"
    CORRUPT = "corrupt"
    NOT_OURS = "not ours"
    TOO_NEW = "too new"


class SolutionRejected(ConfigurationError):
    """A solution file we will not use; `reason` says which kind of problem it is."""

    def __init__(self, message: str, reason: Refusal) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class SolutionPackage:
    unique_name: str
    version: str
    package_version: str  # the platform version it was written for (SolutionPackageVersion)
    managed: bool
    publisher_prefix: str
    option_value_prefix: int
    tables: tuple[Table, ...]
    extensions: tuple[TableExtension, ...]

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])


def read_solution(data: bytes) -> SolutionPackage:
    archive = _open(data)
    root = _parse(archive, SOLUTION)
    manifest = root.find("SolutionManifest")
    if manifest is None:
        raise _corrupt(f"{SOLUTION} has no SolutionManifest")
    unique_name = _text(manifest, "UniqueName")
    prefix = _text(manifest, "Publisher/CustomizationPrefix")
    if unique_name != SOLUTION_UNIQUE_NAME or prefix != PUBLISHER_PREFIX:
        raise SolutionRejected(
            f"This is the solution '{unique_name}' from publisher prefix '{prefix}', not "
            f"d365xero's ('{SOLUTION_UNIQUE_NAME}', prefix '{PUBLISHER_PREFIX}').",
            Refusal.NOT_OURS,
        )
    version = _text(manifest, "Version")
    if not VERSION_PATTERN.fullmatch(version):
        raise _corrupt(f"its version '{version}' is not a solution version")
    if int(version.split(".")[0]) > SUPPORTED_MAJOR:
        raise SolutionRejected(
            f"This d365xero solution is version {version}; this d365xero understands major "
            f"version {SUPPORTED_MAJOR} at most. Upgrade d365xero, or import an older solution.",
            Refusal.TOO_NEW,
        )
    option_prefix = _text(manifest, "Publisher/CustomizationOptionValuePrefix")
    tables, extensions = _entities(_parse(archive, CUSTOMIZATIONS))
    return SolutionPackage(
        unique_name,
        version,
        root.get("SolutionPackageVersion", ""),
        _text(manifest, "Managed") == "1",
        prefix,
        int(option_prefix) if option_prefix.isdigit() else 0,
        tables,
        extensions,
    )


def _corrupt(detail: str) -> SolutionRejected:
    return SolutionRejected(f"The solution file is damaged: {detail}.", Refusal.CORRUPT)


def _open(data: bytes) -> zipfile.ZipFile:
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise SolutionRejected(
            "This is not a solution file: a solution is a .zip file, and this is not one.",
            Refusal.NOT_A_ZIP,
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        if sum(i.file_size for i in archive.infolist()) > MAX_UNPACKED_BYTES:
            raise _corrupt("it unpacks to far more than a solution could hold")
        bad = archive.testzip()
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        OSError,
        ValueError,
        NotImplementedError,
    ) as exc:
        raise _corrupt(str(exc) or type(exc).__name__) from exc
    if bad is not None:
        raise _corrupt(f"{bad} does not match its checksum")
    return archive


def _parse(archive: zipfile.ZipFile, name: str) -> ET.Element:
    try:
        return ET.fromstring(archive.read(name))
    except KeyError as exc:
        raise _corrupt(f"it has no {name}") from exc
    except ET.ParseError as exc:
        raise _corrupt(f"{name} is not well-formed XML ({exc})") from exc


def _text(parent: ET.Element, path: str) -> str:
    found = parent.find(path)
    return (found.text or "").strip() if found is not None else ""


def _label(parent: ET.Element, path: str) -> str:
    """The English description of the first <... description= languagecode=> under path."""
    for item in parent.findall(path):
        if item.get("languagecode") == str(LANGUAGE):
            return item.get("description", "")
    return ""


def _entities(root: ET.Element) -> tuple[tuple[Table, ...], tuple[TableExtension, ...]]:
    targets = _lookup_targets(root)
    tables: list[Table] = []
    extensions: list[TableExtension] = []
    for holder in root.findall("Entities/Entity"):
        entity = holder.find("EntityInfo/entity")
        if entity is None:
            continue
        logical = entity.get("Name", "").lower()
        columns, primary = _columns(entity, logical, targets)
        if logical.startswith(PUBLISHER_PREFIX + "_"):
            tables.append(_table(entity, columns, primary))
        elif columns:
            extensions.append(TableExtension(logical, columns))
    return tuple(tables), tuple(extensions)


def _table(entity: ET.Element, columns: tuple[Column, ...], primary: Column | None) -> Table:
    if primary is None:
        raise _corrupt(f"table {entity.get('Name')} has no primary name column")
    return Table(
        entity.get("Name", ""),
        _label(entity, "LocalizedNames/LocalizedName"),
        _label(entity, "LocalizedCollectionNames/LocalizedCollectionName"),
        _label(entity, "Descriptions/Description"),
        primary,
        columns,
        change_tracking=_text(entity, "ChangeTrackingEnabled") == "1",
    )


def _lookup_targets(root: ET.Element) -> dict[tuple[str, str], str]:
    """(referencing table, lookup) -> referenced table, all logical names."""
    found = {}
    for rel in root.findall("EntityRelationships/EntityRelationship"):
        key = (
            _text(rel, "ReferencingEntityName").lower(),
            _text(rel, "ReferencingAttributeName").lower(),
        )
        found[key] = _text(rel, "ReferencedEntityName").lower()
    return found


def _columns(
    entity: ET.Element, table: str, targets: dict[tuple[str, str], str]
) -> tuple[tuple[Column, ...], Column | None]:
    columns: list[Column] = []
    primary = None
    for attribute in entity.findall("attributes/attribute"):
        if _text(attribute, "IsCustomField") != "1":
            continue  # the table's own system columns: key, state, status
        column = _column(attribute, table, targets)
        if "PrimaryName" in _text(attribute, "DisplayMask"):
            primary = column
        else:
            columns.append(column)
    return tuple(columns), primary


def _column(attribute: ET.Element, table: str, targets: dict[tuple[str, str], str]) -> Column:
    schema_name = attribute.get("PhysicalName", "")
    try:
        kind = ColumnType(_text(attribute, "Type"))
    except ValueError as exc:
        raise _corrupt(f"column {table}.{schema_name} has an unknown type") from exc
    target = targets.get((table, schema_name.lower()))
    if kind is ColumnType.LOOKUP and target is None:
        raise _corrupt(f"lookup {table}.{schema_name} has no relationship")
    length = _text(attribute, "MaxLength")
    accuracy = _text(attribute, "Accuracy")
    text_format = _text(attribute, "Format")
    return Column(
        schema_name,
        kind,
        _label(attribute, "displaynames/displayname"),
        _label(attribute, "Descriptions/Description"),
        max_length=int(length) if length and kind in (ColumnType.STRING, ColumnType.MEMO) else None,
        options=tuple(
            Option(int(o.get("value", "0")), _label(o, "labels/label"))
            for o in attribute.findall("optionset/options/option")
        ),
        targets=(target,) if kind is ColumnType.LOOKUP and target else (),
        required=_text(attribute, "RequiredLevel") in ("required", "applicationrequired"),
        precision=int(accuracy) if accuracy else None,
        format=text_format if kind is ColumnType.STRING and text_format != "text" else None,
    )
