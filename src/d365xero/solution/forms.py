"""The solution's main forms, laid out like the seed's screens: a form for each of our tables, the
invoice "Connector" form, and the account and contact "Xero" forms. Our columns come from
schema.py; the few Dynamics columns the forms also show are named here with their controls."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from enum import StrEnum

from d365xero.solution import views
from d365xero.solution.schema import (
    EXTENSIONS,
    PAYMENT,
    SYNC_HISTORY,
    TABLES,
    XERO_DETAIL,
    Column,
    ColumnType,
    Lookup,
    Table,
    lookups,
)
from d365xero.solution.xmltools import LANGUAGE, flags, guid, localized, sub


class Control(StrEnum):
    """Form control class ids, as Dynamics writes them in FormXml."""

    TEXT = "{4273EDBD-AC1D-40d3-9FB2-095C621B552D}"
    MEMO = "{E0DECE4B-6FC8-4a8f-A065-082708572369}"
    URL = "{71716B6C-711E-476c-8AB8-5D11542BFB47}"
    LOOKUP = "{270BD3DB-D9AF-4782-9025-509E298DEC0A}"
    CHOICE = "{3EF39988-22BB-4F0B-BBBE-64B5A3748AEE}"
    YES_NO = "{67FAC785-CD58-4f9f-ABB3-4B7DDC6ED5ED}"
    DATETIME = "{5B773807-9FB2-42DB-97C3-7A91EFF8ADFF}"
    MONEY = "{533B9E00-756B-4312-95A0-DC888637AC78}"
    DECIMAL = "{C3EFE0C3-0EC6-42be-8349-CBD9079DFD8E}"
    WHOLE_NUMBER = "{C6D124CA-7EDA-4A60-AEA9-7FB8D318B68F}"
    SUBGRID = "{E7A81278-8635-4d9e-8D4D-59480B391C5B}"


_CONTROL_FOR_TYPE = {
    ColumnType.STRING: Control.TEXT,
    ColumnType.MEMO: Control.MEMO,
    ColumnType.BOOLEAN: Control.YES_NO,
    ColumnType.PICKLIST: Control.CHOICE,
    ColumnType.LOOKUP: Control.LOOKUP,
    ColumnType.DATETIME: Control.DATETIME,
    ColumnType.DECIMAL: Control.DECIMAL,
    ColumnType.MONEY: Control.MONEY,
    ColumnType.INTEGER: Control.WHOLE_NUMBER,
}


@dataclass(frozen=True)
class Field:
    column: str  # logical name
    label: str
    control: Control


@dataclass(frozen=True)
class Subgrid:
    name: str
    label: str
    lookup: Lookup
    view: views.View


@dataclass(frozen=True)
class Section:
    name: str
    label: str
    items: tuple[Field | Subgrid, ...]


@dataclass(frozen=True)
class Form:
    table: str  # logical name
    name: str
    description: str
    sections: tuple[Section, ...]

    @property
    def id(self) -> str:
        return guid("form", self.table, self.name)


def field(column: Column) -> Field:
    control = Control.URL if column.format == "url" else _CONTROL_FOR_TYPE[column.type]
    return Field(column.logical_name, column.display_name, control)


def _extension_fields(table: str) -> tuple[Field, ...]:
    extension = next(e for e in EXTENSIONS if e.logical_name == table)
    return tuple(field(c) for c in extension.columns)


def _lookup(referencing: Table, referenced: str) -> Lookup:
    return next(
        lk
        for lk in lookups()
        if lk.referencing == referencing.logical_name and lk.referenced == referenced
    )


def _table_form(table: Table) -> Form:
    general = Section("general", "General", tuple(field(c) for c in table.all_columns))
    return Form(table.logical_name, "Information", f"The {table.display_name} form.", (general,))


def _subgrid(name: str, label: str, table: Table, view: views.View) -> Section:
    return Section(name, label, (Subgrid(name, label, _lookup(table, "invoice"), view),))


INVOICE_CONNECTOR = Form(
    "invoice",
    "Connector",
    "The invoice with its Xero connector details, Xero details and sync history.",
    (
        Section(
            "summary",
            "Summary",
            (
                Field("invoicenumber", "Invoice ID", Control.TEXT),
                Field("name", "Name", Control.TEXT),
                Field("transactioncurrencyid", "Currency", Control.LOOKUP),
                Field("pricelevelid", "Price List", Control.LOOKUP),
                Field("ispricelocked", "Prices Locked", Control.YES_NO),
            ),
        ),
        Section(
            "shipping_dates",
            "Shipping dates",
            (
                Field("datedelivered", "Date Delivered", Control.DATETIME),
                Field("duedate", "Due Date", Control.DATETIME),
            ),
        ),
        Section("connector", "Connector", _extension_fields("invoice")),
        Section(
            "sales_information",
            "Sales information",
            (
                Field("customerid", "Customer", Control.LOOKUP),
                Field("description", "Description", Control.MEMO),
            ),
        ),
        _subgrid("xero_details", "Xero details", XERO_DETAIL, views.XERO_DETAILS_BY_STATUS),
        _subgrid("sync_history", "Sync history", SYNC_HISTORY, views.SYNC_HISTORY_NEWEST_FIRST),
        _subgrid("payments", "Xero payments", PAYMENT, views.views_for(PAYMENT)[0]),
    ),
)

ACCOUNT_XERO = Form(
    "account",
    "Xero",
    "The account with what it owes in Xero.",
    (
        Section(
            "account_information",
            "Account information",
            (
                Field("name", "Account Name", Control.TEXT),
                Field("telephone1", "Phone", Control.TEXT),
                Field("websiteurl", "Website", Control.URL),
                Field("parentaccountid", "Parent Account", Control.LOOKUP),
            ),
        ),
        Section("xero", "Xero", _extension_fields("account")),
    ),
)

CONTACT_XERO = Form(
    "contact",
    "Xero",
    "The contact with what they owe in Xero.",
    (
        Section(
            "contact_information",
            "Contact information",
            (
                Field("firstname", "First Name", Control.TEXT),
                Field("lastname", "Last Name", Control.TEXT),
                Field("jobtitle", "Job Title", Control.TEXT),
                Field("parentcustomerid", "Account Name", Control.LOOKUP),
                Field("emailaddress1", "Email", Control.TEXT),
                Field("telephone1", "Business Phone", Control.TEXT),
            ),
        ),
        Section("xero", "Xero", _extension_fields("contact")),
    ),
)

SYSTEM_FORMS = (INVOICE_CONNECTOR, ACCOUNT_XERO, CONTACT_XERO)


def forms_for(table: str) -> tuple[Form, ...]:
    own = tuple(_table_form(t) for t in TABLES if t.logical_name == table)
    return own + tuple(f for f in SYSTEM_FORMS if f.table == table)


def write_form_xml(parent: ET.Element, table: str) -> None:
    forms = forms_for(table)
    if not forms:
        return
    holder = sub(sub(parent, "FormXml"), "forms", type="main")
    for form in forms:
        _write_system_form(holder, form)


def _write_system_form(parent: ET.Element, form: Form) -> None:
    system_form = sub(parent, "systemform")
    sub(system_form, "formid", form.id)
    sub(system_form, "IntroducedVersion", "1.0.0.0")
    sub(system_form, "FormPresentation", 1)
    sub(system_form, "FormActivationState", 1)
    tab = sub(sub(sub(system_form, "form"), "tabs"), "tab", name="general", verticallayout="true")
    tab.set("id", guid("tab", form.table, form.name))
    tab.set("IsUserDefined", "0")
    _labels(tab, "General")
    sections = sub(sub(sub(tab, "columns"), "column", width="100%"), "sections")
    for section in form.sections:
        _write_section(sections, form, section)
    flags(system_form, IsCustomizable=True, CanBeDeleted=True)
    localized(system_form, "LocalizedNames", "LocalizedName", form.name)
    localized(system_form, "Descriptions", "Description", form.description)


def _write_section(parent: ET.Element, form: Form, section: Section) -> None:
    element = sub(parent, "section", name=section.name, showlabel="true", showbar="false")
    element.set("id", guid("section", form.table, form.name, section.name))
    element.set("IsUserDefined", "0")
    element.set("columns", "1")
    _labels(element, section.label)
    rows = sub(element, "rows")
    for item in section.items:
        cell = sub(sub(rows, "row"), "cell", id=guid("cell", form.table, form.name, item.label))
        _labels(cell, item.label)
        if isinstance(item, Field):
            sub(cell, "control", id=item.column, classid=item.control, datafieldname=item.column)
        else:
            cell.set("rowspan", "4")
            _write_subgrid(cell, item)


def _write_subgrid(cell: ET.Element, grid: Subgrid) -> None:
    control = sub(cell, "control", id=grid.name, classid=Control.SUBGRID)
    params = sub(control, "parameters")
    sub(params, "ViewId", grid.view.id)
    sub(params, "IsUserView", "false")
    sub(params, "RelationshipName", grid.lookup.relationship_name)
    sub(params, "TargetEntityType", grid.lookup.referencing)
    sub(params, "AutoExpand", "Fixed")
    sub(params, "EnableQuickFind", "false")
    sub(params, "EnableViewPicker", "false")
    sub(params, "EnableJumpBar", "false")
    sub(params, "ChartGridMode", "Grid")
    sub(params, "RecordsPerPage", 5)


def _labels(parent: ET.Element, text: str) -> None:
    sub(sub(parent, "labels"), "label", description=text, languagecode=str(LANGUAGE))
