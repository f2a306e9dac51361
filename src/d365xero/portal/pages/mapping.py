"""The field-mapping editor: which Dynamics field fills which Xero field, beyond the built-in
mapping (domain.fieldmap). Kept where the connector reads it, the dxc_fieldmappings column of
the connection's dxc_setting row, so the next pass uses it; checked against Dynamics' own
columns first (domain.mapping_form), with the message beside the row. Saved like the other
Connector Settings (jobs.settings_save): if Dynamics changed the mapping meanwhile too,
Dynamics' is kept and the page says so."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from d365xero.dataverse.gateway import DynamicsGateway
from d365xero.dataverse.settings_row import read_settings
from d365xero.domain import fieldmap, mapping_form
from d365xero.errors import D365XeroError
from d365xero.jobs.settings_save import save_settings
from d365xero.portal import remote
from d365xero.portal.http import form_fields
from d365xero.portal.ondemand import Brief, on_app
from d365xero.portal.owned import mine
from d365xero.portal.web import render
from d365xero.store.models import Connection

router = APIRouter()
TAB = "Field mapping"
FIELD = "field_mappings"


# Seconds the editor keeps the tables' columns it read from Dynamics' metadata (four calls that
# are most of the page's time): a column added in Dynamics shows within a minute, and a save
# always checks against the columns as they are now.
COLUMNS_FOR = 60.0
Columns = dict[str, dict[str, str]]


def _read_columns(dynamics: DynamicsGateway) -> Columns:
    return {table: dynamics.column_types(table) for table, _ in fieldmap.SOURCES.values()}


def _kept_columns(request: Request) -> Brief[Columns]:
    return on_app(request, "mapping_columns", lambda: Brief(COLUMNS_FOR))


def _columns(request: Request, connection: Connection, dynamics: DynamicsGateway) -> Columns:
    columns, _ = _kept_columns(request).get(connection.id, lambda: _read_columns(dynamics))
    return columns


def _fresh_columns(request: Request, connection: Connection, dynamics: DynamicsGateway) -> Columns:
    _kept_columns(request).drop(connection.id)
    return _columns(request, connection, dynamics)


def _choices(columns: Columns) -> dict[str, list[str]]:
    """The editor's suggestions for each set of sources a row may use ("account-contact"):
    their "source.column" values, the columns that hold a value."""
    wanted = {"-".join(row.sources): row.sources for row in mapping_form.TARGET_ROWS}
    wanted["line"] = ("line",)
    return {
        key: sorted(
            f"{source}.{column}"
            for source in sources
            for column, kind in columns.get(fieldmap.SOURCES[source][0], {}).items()
            if kind not in fieldmap.NO_VALUE_TYPES
        )
        for key, sources in wanted.items()
    }


FROM = {
    row.field: " or ".join(fieldmap.SOURCES[s][1] for s in row.sources)
    for row in mapping_form.TARGET_ROWS
}


def _page(
    request: Request, connection: Connection, context: dict[str, Any], status: int = 200
) -> Response:
    base = {
        "connection": connection,
        "tab": TAB,
        "rows": mapping_form.TARGET_ROWS,
        "from_labels": FROM,
        "choices": {},
        "tracking": mapping_form.MIN_TRACKING_ROWS,
    }
    return render(request, "center/mapping.html", {**base, **context}, status=status)


def _unavailable(request: Request, connection: Connection, message: str, status: int) -> Response:
    return _page(request, connection, {"notices": [("bad", message)], "unavailable": True}, status)


@router.get("/connections/{connection_id}/mapping", name="mapping")
def mapping_page(request: Request, connection: Connection = Depends(mine)) -> Response:
    if not remote.created(connection):
        return _unavailable(request, connection, "Create the connection first.", 200)
    try:
        clients = remote.clients(request, connection)
        record = read_settings(clients.dataverse, connection.dataverse_connection_row_id or "")
        columns = _columns(request, connection, clients.dynamics)
    except D365XeroError as exc:
        return _unavailable(
            request, connection, remote.unreachable(exc), remote.failure_status(exc)
        )
    text = record.values[FIELD]
    notices, current = [], fieldmap.NO_MAPPING
    try:
        current = fieldmap.parse(text)
        fieldmap.check_columns(current, columns)
    except fieldmap.MappingRefused as exc:
        notices.append(("bad", f"The mapping in Dynamics cannot be used now: {exc}"))
    context = {
        "form": mapping_form.to_form(current),
        "choices": _choices(columns),
        "tracking": mapping_form.tracking_rows(current),
        "etag": record.etag,
        "loaded": text,
        "notices": notices,
    }
    return _page(request, connection, context)


@router.post("/connections/{connection_id}/mapping")
def save_mapping(
    request: Request,
    connection: Connection = Depends(mine),
    sent: dict[str, str] = Depends(form_fields),
) -> Response:
    if not remote.created(connection):
        return _unavailable(request, connection, "Create the connection first.", 409)
    # Canonical again: a browser sends the hidden field's line breaks back as CRLF.
    loaded, etag = fieldmap.canonical(sent.get("loaded", "")), sent.get("etag", "")
    rows = mapping_form.tracking_rows(fieldmap.NO_MAPPING, sent)
    try:
        clients = remote.clients(request, connection)
        columns = _fresh_columns(request, connection, clients.dynamics)
        wanted, errors = mapping_form.from_form(sent, columns, rows)
        kept = {"form": sent, "choices": _choices(columns), "tracking": rows}
        kept.update(etag=etag, loaded=loaded)
        if errors:
            notice = ("bad", "The mapping was not saved: correct the fields marked below.")
            return _page(request, connection, {**kept, "errors": errors, "notices": [notice]}, 400)
        saved = save_settings(
            clients.dataverse,
            connection.dataverse_connection_row_id or "",
            etag,
            {FIELD: loaded},
            {FIELD: fieldmap.dump(wanted)},
        )
    except D365XeroError as exc:
        notice = ("bad", f"Not saved. {remote.unreachable(exc)}")
        return _page(
            request, connection, {"form": sent, "notices": [notice]}, remote.failure_status(exc)
        )
    text = saved.record.values[FIELD]
    now = _parsed_or_none(text)
    notices = [("ok", "Field mapping saved in Dynamics: the next sync pass uses it.")]
    if saved.conflicts:
        notices = [
            (
                "warn",
                "Dynamics changed the field mapping since you opened this page, and its "
                "mapping was kept (shown below); yours was not saved.",
            )
        ]
    context = {
        "form": mapping_form.to_form(now),
        "choices": _choices(columns),
        "tracking": mapping_form.tracking_rows(now),
        "etag": saved.record.etag,
        "loaded": text,
        "notices": notices,
    }
    return _page(request, connection, context)


def _parsed_or_none(text: str) -> fieldmap.FieldMapping:
    try:
        return fieldmap.parse(text)
    except fieldmap.MappingRefused:
        return fieldmap.NO_MAPPING
