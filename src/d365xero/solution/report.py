"""Reading and writing solution files for the command line, with messages a person can act on."""

from __future__ import annotations

from pathlib import Path

from d365xero.errors import ConfigurationError
from d365xero.solution.customizations import role_privileges
from d365xero.solution.forms import SYSTEM_FORMS
from d365xero.solution.reader import read_solution
from d365xero.solution.schema import INTEGRATION_ROLE_NAME
from d365xero.solution.views import all_views


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
    forms = ", ".join(f"{f.table} '{f.name}'" for f in SYSTEM_FORMS)
    lines.append(f"Forms: one per table, and {forms}")
    lines.append(f"Views: {len(all_views())}")
    lines.append(f"Security role: {INTEGRATION_ROLE_NAME} ({len(role_privileges())} privileges)")
    return "\n".join(lines)
