"""Reading and writing solution files for the command line, with messages a person can act on."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

from d365xero.errors import ConfigurationError
from d365xero.solution.build import CUSTOMIZATIONS
from d365xero.solution.reader import read_solution


def write_zip(path: Path, data: bytes) -> None:
    if path.is_dir():
        raise ConfigurationError(f"{path} is a folder: give a file name, e.g. {path / 'x.zip'}")
    if not path.parent.is_dir():
        raise ConfigurationError(f"cannot write {path}: the folder {path.parent} does not exist")
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise ConfigurationError(f"cannot write {path}: {exc.strerror or exc}") from exc


def read_zip(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror or exc}") from exc


def describe(data: bytes) -> str:
    """What a solution zip holds, one line per table."""
    package = read_solution(data)
    lines = [
        f"Solution {package.unique_name} {package.version} "
        f"({'managed' if package.managed else 'unmanaged'}), "
        f"publisher prefix {package.publisher_prefix}_, "
        f"option values from {package.option_value_prefix}0000",
        "Tables:",
    ]
    for t in package.tables:
        lines.append(f"  {t.logical_name} ({t.display_name}): {len(t.all_columns)} columns")
    lines.append("Columns added to Dynamics tables:")
    for e in package.extensions:
        lines.append(f"  {e.logical_name}: {', '.join(c.logical_name for c in e.columns)}")
    lines += _components(data)
    return "\n".join(lines)


def _components(data: bytes) -> list[str]:
    """Forms, views and roles as the file has them (read_solution has checked it already)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        root = ET.fromstring(archive.read(CUSTOMIZATIONS))
    forms = [
        f"{holder.findtext('Name')} '{form.get('description')}'"
        for holder in root.iter("Entity")
        for form in holder.findall("FormXml/forms/systemform/LocalizedNames/LocalizedName")
    ]
    roles = [
        f"{role.get('name')} ({len(role.findall('RolePrivileges/RolePrivilege'))} privileges)"
        for role in root.iter("Role")
    ]
    return [
        f"Forms: {', '.join(forms)}",
        f"Views: {len(list(root.iter('savedquery')))}",
        f"Security roles: {', '.join(roles)}",
    ]
