"""Saving a portal edit of a connection's dxc_setting row ("Update Connection") without losing
an edit made in Dynamics meanwhile: the row is written only at the version the merge was made
against (If-Match), and where both sides changed a field, Dynamics wins and the caller is told.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from d365xero.dataverse.client import DataverseClient
from d365xero.dataverse.settings_row import SettingsRecord, read_settings, write_settings
from d365xero.domain.settings_edit import merge
from d365xero.errors import TransientError

ATTEMPTS = 3  # a row that changes between every read and write this often is being fought over


@dataclass(frozen=True)
class Saved:
    record: SettingsRecord  # the row as Dynamics has it after the save
    conflicts: dict[str, str] = field(default_factory=dict)  # field -> Dynamics' value, kept
    written: tuple[str, ...] = ()


def save_settings(
    client: DataverseClient,
    connection_row_id: str,
    loaded_etag: str,
    loaded: Mapping[str, str],
    submitted: Mapping[str, str],
) -> Saved:
    """`loaded` (at `loaded_etag`) is what the form showed, `submitted` what it sent back."""
    conflicts: dict[str, str] = {}
    for _ in range(ATTEMPTS):
        current = read_settings(client, connection_row_id)
        # Same version: Dynamics changed nothing since the form was loaded.
        theirs = loaded if current.etag == loaded_etag else current.values
        result = merge(loaded, submitted, theirs)
        conflicts.update(result.conflicts)
        for name in result.write:
            conflicts.pop(name, None)
        if not result.write:
            return Saved(current, conflicts)
        if write_settings(client, current.row_id, current.etag, result.write):
            after = read_settings(client, connection_row_id)
            return Saved(after, conflicts, tuple(result.write))
        # 412: changed between our read and our write; merge again with what it is now.
    raise TransientError(
        "Dynamics changed these settings again while they were being saved; try again",
        service="dataverse",
    )
