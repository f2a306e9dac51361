"""A connection's dxc_setting row as the portal edits it: read with its version (the row's
@odata.etag), written only if that is still its version.

Dataverse's optimistic concurrency: a PATCH with `If-Match: <etag>` is applied only while the
row's ETag is still that one, else refused with 412 Precondition Failed (error 0x80060882,
"The version of the existing record doesn't match the RowVersion property provided."): "Perform
conditional operations using the Web API", Apply optimistic concurrency,
https://learn.microsoft.com/power-apps/developer/data-platform/webapi/perform-conditional-operations-using-web-api
(the emulator does the same: docs/EMULATORS.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from d365xero.dataverse.client import DataverseClient
from d365xero.dataverse.gateway import reference_row_id
from d365xero.domain.settings_edit import CHOICES, AccountChoice
from d365xero.errors import ConfigurationError, RemoteRejected
from d365xero.solution import schema

ACTIVE = 0
# Portal field -> dxc_setting column (lookups: their _value column when read, their navigation
# property when written).
_COLUMNS = {
    "use_xero_invoice_number": "dxc_usexeroinvoicenumber",
    "create_contacts": "dxc_createcontacts",
    "create_products": "dxc_createproducts",
    "create_credit_note": "dxc_createcreditnote",
    "default_status": "dxc_defaultinvoicestatus",
    "timezone": "dxc_timezone",
    "field_mappings": "dxc_fieldmappings",
}
_LOOKUPS = {
    "default_sales_account": ("_dxc_defaultsalesaccountid_value", "dxc_DefaultSalesAccountId"),
    "default_purchase_account": (
        "_dxc_defaultpurchaseaccountid_value",
        "dxc_DefaultPurchaseAccountId",
    ),
}
_SELECT = ",".join(["dxc_settingid", *_COLUMNS.values(), *(v for v, _ in _LOOKUPS.values())])


@dataclass(frozen=True)
class SettingsRecord:
    row_id: str
    etag: str  # the row's version when read
    values: dict[str, str]  # portal field -> its text (domain.settings_edit)


def read_settings(client: DataverseClient, connection_row_id: str) -> SettingsRecord:
    rows = client.get(
        "dxc_settings",
        {
            "$select": _SELECT,
            "$filter": f"_dxc_connectionid_value eq {connection_row_id}",
            "$top": "1",
        },
    )["value"]
    if not rows:
        raise ConfigurationError(
            "Dynamics has no Xero connector settings row for this connection: reconnect "
            "Dynamics, which creates it"
        )
    row = rows[0]
    return SettingsRecord(row["dxc_settingid"], str(row.get("@odata.etag") or ""), _values(row))


def _values(row: Mapping[str, Any]) -> dict[str, str]:
    values = {name: "Yes" if row.get(_COLUMNS[name]) else "No" for name in CHOICES}
    status = schema.option_label(schema.INVOICE_STATUS, row.get("dxc_defaultinvoicestatus"))
    values["default_status"] = status or "Draft"
    values["timezone"] = str(row.get("dxc_timezone") or "")
    values["field_mappings"] = str(row.get("dxc_fieldmappings") or "")
    for name, (read, _) in _LOOKUPS.items():
        values[name] = str(row.get(read) or "")
    return values


def write_settings(
    client: DataverseClient, record_id: str, etag: str, changes: Mapping[str, str]
) -> bool:
    """PATCH the changed fields if the row is still at `etag`; False if Dynamics changed it
    since (412)."""
    body: dict[str, Any] = {}
    for name, value in changes.items():
        if name in CHOICES:
            body[_COLUMNS[name]] = value == "Yes"
        elif name == "default_status":
            body[_COLUMNS[name]] = schema.option_value(schema.INVOICE_STATUS, value)
        elif name in _LOOKUPS:
            body[f"{_LOOKUPS[name][1]}@odata.bind"] = f"/dxc_chartofaccounts({value})"
        else:
            body[_COLUMNS[name]] = value or None
    if not body:
        return True
    try:
        client.update("dxc_settings", record_id, body, if_match=etag or "*")
    except RemoteRejected as exc:
        if exc.status == 412:
            return False
        raise
    return True


def account_choices(client: DataverseClient, tenant_id: str) -> list[AccountChoice]:
    """The active Xero account codes of this Xero organisation in Dynamics, by code."""
    found = []
    params = {
        "$select": "dxc_chartofaccountid,dxc_code,dxc_name,dxc_xeroaccountid",
        "$filter": f"statecode eq {ACTIVE}",
    }
    for page in client.pages("dxc_chartofaccounts", params):
        for row in page:
            xero_id = row.get("dxc_xeroaccountid") or ""
            if xero_id and row["dxc_chartofaccountid"] == reference_row_id(
                tenant_id, "account", xero_id
            ):
                found.append(
                    AccountChoice(
                        row["dxc_chartofaccountid"],
                        str(row.get("dxc_code") or ""),
                        str(row.get("dxc_name") or ""),
                    )
                )
    return sorted(found, key=lambda a: (a.code, a.name))
