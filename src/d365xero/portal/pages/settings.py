"""Connector Settings: the connection's dxc_setting row in Dynamics, edited in the portal and
written back by "Update Connection". Labels and hints are the solution's own (the descriptions
Dynamics shows on the row). When Dynamics changed a setting the user also changed since the
form was loaded, Dynamics wins and the page says which and what Dynamics has
(jobs.settings_save)."""

from __future__ import annotations

import zoneinfo
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from d365xero.dataverse.settings_row import SettingsRecord, account_choices, read_settings
from d365xero.domain.settings_edit import ACCOUNTS, CHOICES, FIELDS, STATUSES, YES_NO, validate
from d365xero.errors import D365XeroError
from d365xero.jobs.settings_save import save_settings
from d365xero.portal import remote
from d365xero.portal.http import form_fields
from d365xero.portal.owned import mine
from d365xero.portal.web import render
from d365xero.solution import schema
from d365xero.store.models import Connection

router = APIRouter()
TAB = "Connector Settings"
_COLUMN = {
    "use_xero_invoice_number": "dxc_UseXeroInvoiceNumber",
    "create_contacts": "dxc_CreateContacts",
    "create_products": "dxc_CreateProducts",
    "default_status": "dxc_DefaultInvoiceStatus",
    "default_sales_account": "dxc_DefaultSalesAccountId",
    "default_purchase_account": "dxc_DefaultPurchaseAccountId",
    "create_credit_note": "dxc_CreateCreditNote",
    "timezone": "dxc_TimeZone",
}
_BY_SCHEMA = {c.schema_name: c for c in schema.SETTING.columns}
LABELS = {name: _BY_SCHEMA[column].display_name for name, column in _COLUMN.items()}
HINTS = {name: _BY_SCHEMA[column].description for name, column in _COLUMN.items()}


def _page(
    request: Request,
    connection: Connection,
    context: dict[str, Any],
    status: int = 200,
) -> Response:
    base = {"connection": connection, "tab": TAB, "labels": LABELS, "hints": HINTS}
    return render(request, "center/settings.html", {**base, **context}, status=status)


def _fields(record: SettingsRecord, accounts: list[Any]) -> dict[str, Any]:
    """The form's choices, and the version it was loaded at (hidden: etag and base_*)."""
    options = {name: [(v, v) for v in YES_NO] for name in CHOICES}
    options["default_status"] = [(v, v) for v in STATUSES]
    account_options = [("", "Choose an account code"), *((a.row_id, a.label) for a in accounts)]
    for name in ACCOUNTS:
        options[name] = account_options
    return {
        "options": options,
        "etag": record.etag,
        "base": {name: record.values.get(name, "") for name in FIELDS},
        "fields": FIELDS,
    }


@router.get("/connections/{connection_id}/settings", name="settings")
def settings_page(request: Request, connection: Connection = Depends(mine)) -> Response:
    if not remote.created(connection):
        notice = ("warn", "Create the connection first: its settings live in Dynamics.")
        return _page(request, connection, {"notices": [notice], "unavailable": True})
    try:
        dataverse = remote.clients(request, connection).dataverse
        record = read_settings(dataverse, connection.dataverse_connection_row_id or "")
        accounts = account_choices(dataverse, connection.xero_tenant_id or "")
    except D365XeroError as exc:
        notice = ("bad", remote.unreachable(exc))
        return _page(
            request,
            connection,
            {"notices": [notice], "unavailable": True},
            remote.failure_status(exc),
        )
    form = {name: record.values.get(name, "") for name in FIELDS}
    return _page(request, connection, {"form": form, **_fields(record, accounts)})


@router.post("/connections/{connection_id}/settings")
def update_connection(
    request: Request,
    connection: Connection = Depends(mine),
    sent: dict[str, str] = Depends(form_fields),
) -> Response:
    if not remote.created(connection):
        notice = ("bad", "Create the connection first: its settings live in Dynamics.")
        return _page(request, connection, {"notices": [notice], "unavailable": True}, 409)
    loaded = {name: sent.get(f"base_{name}", "") for name in FIELDS}
    etag = sent.get("etag", "")
    try:
        dataverse = remote.clients(request, connection).dataverse
        accounts = account_choices(dataverse, connection.xero_tenant_id or "")
        zones = zoneinfo.available_timezones()
        values, errors = validate(sent, {a.row_id: a for a in accounts}, zones)
        if errors:
            context = {
                "form": sent,
                "errors": errors,
                "options": _fields(SettingsRecord("", etag, loaded), accounts)["options"],
                "etag": etag,
                "base": loaded,
                "fields": FIELDS,
                "notices": [("bad", "Some settings need correcting: see below.")],
            }
            return _page(request, connection, context, 400)
        saved = save_settings(
            dataverse, connection.dataverse_connection_row_id or "", etag, loaded, values
        )
    except D365XeroError as exc:
        context = {"form": sent, "etag": etag, "base": loaded, "fields": FIELDS}
        context["notices"] = [("bad", f"Not saved. {remote.unreachable(exc)}")]
        context["unavailable"] = True
        return _page(request, connection, context, remote.failure_status(exc))
    zone = saved.record.values.get("timezone", "")
    if zone in zones:  # the store's copy, shown in lists (Dynamics' row is what passes read)
        connection.timezone = zone
    names = {a.row_id: a.label for a in accounts}
    notices = [("ok", "Connection updated: the settings are saved in Dynamics.")]
    if saved.conflicts:
        kept = "; ".join(
            f"{LABELS[name]}: {names.get(value, value) or 'empty'}"
            for name, value in saved.conflicts.items()
        )
        notices = [
            (
                "warn",
                "Dynamics changed some of these settings since you opened this page, and its "
                f"values were kept: {kept}. Your other changes are saved.",
            )
        ]
    form = {name: saved.record.values.get(name, "") for name in FIELDS}
    context = {"form": form, "notices": notices, "conflicts": saved.conflicts}
    return _page(request, connection, {**context, **_fields(saved.record, accounts)})
