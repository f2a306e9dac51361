"""The solution's views (saved queries): which rows a list shows, in what order, with which
columns. Columns and option values come from schema.py."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from d365xero.solution.schema import EXPORT_FAILED, SYNC_HISTORY, TABLES, XERO_DETAIL, Table
from d365xero.solution.xmltools import flags, guid, localized, sub

# savedquery.querytype values (SavedQuery entity reference): 0 public view, 4 quick find,
# 64 lookup view.
PUBLIC, QUICK_FIND, LOOKUP = 0, 4, 64


@dataclass(frozen=True)
class Condition:
    attribute: str
    operator: str
    value: str


@dataclass(frozen=True)
class View:
    table: str  # logical name
    name: str
    description: str
    columns: tuple[str, ...]
    order: tuple[tuple[str, bool], ...] = ()  # (attribute, descending)
    conditions: tuple[Condition, ...] = ()
    query_type: int = PUBLIC
    is_default: bool = False

    @property
    def id(self) -> str:
        return guid("view", self.table, self.name)


ACTIVE = Condition("statecode", "eq", "0")


def _standard_views(table: Table) -> tuple[View, ...]:
    """The three views Dataverse gives every table: the default list, quick find and lookup."""
    name = table.primary_name.logical_name
    columns = tuple(c.logical_name for c in table.all_columns[:6])
    default = View(
        table.logical_name,
        f"Active {table.plural_name}",
        f"Active {table.plural_name.lower()}.",
        columns,
        ((name, False),),
        (ACTIVE,),
        is_default=True,
    )
    quick_find = View(
        table.logical_name,
        f"Quick Find Active {table.plural_name}",
        "Searches by name.",
        (name,),
        ((name, False),),
        (ACTIVE,),
        QUICK_FIND,
        is_default=True,
    )
    lookup = View(
        table.logical_name,
        f"{table.display_name} Lookup View",
        "Used when choosing a record in a lookup.",
        (name,),
        ((name, False),),
        (ACTIVE,),
        LOOKUP,
        is_default=True,
    )
    return default, quick_find, lookup


SYNC_HISTORY_NEWEST_FIRST = View(
    SYNC_HISTORY.logical_name,
    "Sync history (newest first)",
    "Every sync attempt, the most recent first.",
    ("dxc_eventdate", "dxc_name", "dxc_action", "dxc_details", "dxc_syncstatus", "dxc_invoiceid"),
    (("dxc_eventdate", True),),
    (ACTIVE,),
)

FAILED_EXPORTS = View(
    XERO_DETAIL.logical_name,
    "Failed exports",
    "Invoices whose last export to Xero failed. Fix the cause (see Sync history), then set "
    "Export status back to No.",
    ("dxc_name", "dxc_invoiceid", "dxc_exportstatus", "dxc_exportdate", "dxc_xerostatus"),
    (("dxc_exportdate", True),),
    (ACTIVE, Condition("dxc_exportstatus", "eq", str(EXPORT_FAILED.value))),
)

XERO_DETAILS_BY_STATUS = View(
    XERO_DETAIL.logical_name,
    "Xero details by export status",
    "Every exported invoice, grouped by export status.",
    (
        "dxc_name",
        "dxc_xeroinvoicenumber",
        "dxc_xerostatus",
        "dxc_xerourl",
        "dxc_exportstatus",
        "dxc_exportdate",
    ),
    (("dxc_exportstatus", False), ("dxc_exportdate", True)),
    (ACTIVE,),
)

_SPECIAL = (SYNC_HISTORY_NEWEST_FIRST, FAILED_EXPORTS, XERO_DETAILS_BY_STATUS)


def views_for(table: Table) -> tuple[View, ...]:
    return _standard_views(table) + tuple(v for v in _SPECIAL if v.table == table.logical_name)


def all_views() -> tuple[View, ...]:
    return tuple(v for t in TABLES for v in views_for(t))


def write_saved_queries(parent: ET.Element, table: Table) -> None:
    holder = sub(sub(parent, "SavedQueries"), "savedqueries")
    for view in views_for(table):
        _write_view(holder, view, table)


def _write_view(parent: ET.Element, view: View, table: Table) -> None:
    query = sub(parent, "savedquery")
    flags(
        query, IsCustomizable=True, CanBeDeleted=view.query_type == PUBLIC and not view.is_default
    )
    flags(
        query,
        isquickfindquery=view.query_type == QUICK_FIND,
        isprivate=False,
        isdefault=view.is_default,
    )
    sub(query, "savedqueryid", view.id)
    sub(query, "querytype", view.query_type)
    layout = sub(sub(query, "layoutxml"), "grid", name="resultset", jump=view.columns[0])
    layout.set("select", "1")
    layout.set("icon", "1")
    layout.set("preview", "1")
    row = sub(layout, "row", name="result", id=table.primary_id)
    for column in view.columns:
        sub(row, "cell", name=column, width="150")
    _write_fetch(sub(query, "fetchxml"), view, table)
    sub(query, "IntroducedVersion", "1.0.0.0")
    localized(query, "LocalizedNames", "LocalizedName", view.name)
    localized(query, "Descriptions", "Description", view.description)


def _write_fetch(parent: ET.Element, view: View, table: Table) -> None:
    entity = sub(sub(parent, "fetch", version="1.0", mapping="logical"), "entity")
    entity.set("name", table.logical_name)
    for column in (table.primary_id, *view.columns):
        sub(entity, "attribute", name=column)
    for attribute, descending in view.order:
        sub(entity, "order", attribute=attribute, descending=str(descending).lower())
    if view.conditions:
        where = sub(entity, "filter", type="and")
        for c in view.conditions:
            sub(where, "condition", attribute=c.attribute, operator=c.operator, value=c.value)
    if view.query_type == QUICK_FIND:
        find = sub(entity, "filter", type="or", isquickfindfields="1")
        sub(find, "condition", attribute=view.columns[0], operator="like", value="{0}")
