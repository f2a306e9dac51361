"""DynamicsGateway: the engine's DynamicsPort for one connection, over DataverseClient.

Reads ready invoices with everything the mapping needs in one expanded query per page, and
writes results back in one $batch per page. Every write is an upsert (PATCH to an id we choose),
so a batch sent twice after a lost response changes nothing the second time.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from d365xero.dataverse.batch import Operation, OperationResult
from d365xero.dataverse.client import DataverseClient
from d365xero.domain.backfill import UnlinkedInvoice
from d365xero.domain.fieldmap import NO_EXTRA, SOURCES, ExtraColumns
from d365xero.domain.history import (
    CustomerBalance,
    CustomerLink,
    DetailHistory,
    DetailStatus,
    HistoryEntry,
    InvoiceAmountDue,
    InvoiceState,
    LineTax,
    PaymentRecord,
    PaymentRemoved,
    SyncAction,
    SyncStatus,
    WriteBack,
    XeroDetailChange,
    XeroStatusChange,
    tax_not_written,
)
from d365xero.domain.reconcile import LinkedInvoice
from d365xero.domain.records import (
    Address,
    ConnectorSettings,
    Customer,
    ExportStatus,
    Invoice,
    InvoiceLine,
    InvoiceType,
    LineAmountTypes,
    XeroLink,
    XeroStatus,
)
from d365xero.domain.settlement import HeldCustomer, HeldInvoice, HeldPayment
from d365xero.errors import ConfigurationError, RemoteRejected
from d365xero.solution import schema
from d365xero.sync.ports import FailedInvoice, InvoiceChanges, ReferenceData

ACTIVE, CANCELED = 0, 3
EXPIRED_VERSION_STAMP = "0x80044352"  # "The specified version stamp has expired" (change tracking)
CHANGES_PAGE = 5000  # rows a page of the change feed: only ids and state are read
_TRACKED = "invoiceid,name,statecode,_dxc_connectionid_value"
_EXISTING = (("If-Match", "*"),)  # update only: never let a PATCH create a missing row
_ADDRESS = (
    "address1_line1,address1_line2,address1_city,address1_stateorprovince,"
    "address1_postalcode,address1_country"
)
_ACCOUNT = f"accountid,name,emailaddress1,telephone1,dxc_xerocontactid,{_ADDRESS}"
_CONTACT = (
    f"contactid,fullname,firstname,lastname,emailaddress1,telephone1,dxc_xerocontactid,{_ADDRESS}"
)
_LINE = (
    "invoicedetailid,isproductoverridden,productdescription,quantity,priceperunit,"
    "manualdiscountamount,sequencenumber,lineitemnumber,dxc_trackingoption1,dxc_trackingoption2,"
    "pricingerrorcode"
)
_INVOICE = (
    "invoiceid,name,invoicenumber,description,datedelivered,duedate,statecode,"
    "_pricelevelid_value,_customerid_value,dxc_invoicetype,dxc_lineamounttypes,modifiedon"
)
_DETAIL = "dxc_xerodetailid,dxc_exportstatus,dxc_xeroinvoiceid,dxc_xeroinvoicenumber,dxc_xerostatus"
# The invoice's collection of Xero details: the relationship behind dxc_xerodetail.dxc_InvoiceId.
_DETAILS_NAV = next(
    lookup.relationship_name
    for lookup in schema.lookups()
    if lookup.referencing == "dxc_xerodetail" and lookup.column.schema_name == "dxc_InvoiceId"
)
# An invoice whose Xero details say its export Failed (what the user has to fix).
_FAILED_DETAIL = (
    f"{_DETAILS_NAV}/any(d:d/dxc_exportstatus eq "
    f"{schema.option_value(schema.EXPORT_STATUS, 'Failed')})"
)
# The invoice's Sync History rows: the relationship behind dxc_synchistory.dxc_InvoiceId.
_HISTORY_NAV = next(
    lookup.relationship_name
    for lookup in schema.lookups()
    if lookup.referencing == "dxc_synchistory" and lookup.column.schema_name == "dxc_InvoiceId"
)
_PAYMENTS_NAV = next(
    lookup.relationship_name
    for lookup in schema.lookups()
    if lookup.referencing == "dxc_payment" and lookup.column.schema_name == "dxc_InvoiceId"
)
_PAYMENT = "dxc_paymentid,dxc_kind,dxc_xeropaymentid,dxc_amount,dxc_date,dxc_reference,dxc_currency"
_LINKED_DETAIL = "dxc_xerodetailid,dxc_xeroinvoiceid,dxc_xerostatus,dxc_amountdue"
_BALANCE = "dxc_xerocontactid,dxc_amountowed,dxc_amountoverdue"
# Xero ids per query: Microsoft.Dynamics.CRM.In with 1,000 ids (a page of Xero's) is about 40,000
# characters, inside the 65,536 a URL in a $batch may have (32,768 alone).
IDS_PER_QUERY = 1000
_FORMATTED = 'odata.include-annotations="OData.Community.Display.V1.FormattedValue"'
_FORMATTED_KEY = "@OData.Community.Display.V1.FormattedValue"
# Dataverse counts the rows a query matches up to 5,000 (standard tables), whatever the page
# size (PAD:webapi/query/count-rows.md): a count of this is "5,000 or more".
COUNT_LIMIT = 5000
REFERENCE_KINDS = ("taxrates", "accounts", "brandingthemes")  # the order they must come in
REFERENCE_TABLES = {  # kind -> (entity set, primary key)
    "taxrates": ("dxc_taxtypes", "dxc_taxtypeid"),
    "accounts": ("dxc_chartofaccounts", "dxc_chartofaccountid"),
    "brandingthemes": ("dxc_brandingthemes", "dxc_brandingthemeid"),
}
# kind -> (the tag and the column of the Xero key its row id is derived from: reference_row_id)
REFERENCE_KEYS = {
    "taxrates": ("tax", "dxc_taxtypecode"),
    "accounts": ("account", "dxc_xeroaccountid"),
    "brandingthemes": ("theme", "dxc_xerobrandingthemeid"),
}
INACTIVE, INACTIVE_STATUS, ACTIVE_STATUS = 1, 2, 1
_AS_LABEL = {"Picklist", "State", "Status", "Boolean", "MultiSelectPicklist"}


def _values(extra: ExtraColumns, source: str, row: dict[str, Any]) -> dict[str, str]:
    """The mapped columns' values as text: a choice by its label, a date as a date."""
    table = SOURCES[source][0]
    found = {}
    for column in extra.columns(source):
        value = row.get(column)
        if value is None or value == "":
            continue
        kind = extra.types.get(table, {}).get(column, "")
        if kind in _AS_LABEL:
            value = row.get(column + _FORMATTED_KEY, value)
        elif kind == "DateTime":
            value = str(value)[:10]
        found[column] = str(value)
    return found


def _with(select: str, columns: tuple[str, ...]) -> str:
    present = select.split(",")
    return ",".join([*present, *(c for c in columns if c not in present)])


def _expand(extra: ExtraColumns) -> str:
    return ",".join(
        [
            f"customerid_account($select={_with(_ACCOUNT, extra.columns('account'))})",
            f"customerid_contact($select={_with(_CONTACT, extra.columns('contact'))})",
            "transactioncurrencyid($select=isocurrencycode)",
            "pricelevelid($select=name)",
            "dxc_BrandingThemeId($select=dxc_xerobrandingthemeid)",
            f"{_DETAILS_NAV}($select={_DETAIL})",
            f"invoice_details($select={_with(_LINE, extra.columns('line'))};"
            "$expand=productid($select=productnumber,name),"
            "dxc_TaxTypeId($select=dxc_taxtypecode),dxc_AccountCodeId($select=dxc_code))",
        ]
    )


def _option(options: tuple[schema.Option, ...], value: Any) -> str | None:
    return schema.option_label(options, value)


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value[:10]) if value else None


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _amount(value: Any) -> Decimal | None:
    return Decimal(str(value)) if value is not None else None


def _money(value: Any) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)


def _amount(value: Any) -> Decimal | None:
    return Decimal(str(value)) if value is not None else None


class DynamicsGateway:
    def __init__(self, client: DataverseClient, connection_row_id: str) -> None:
        self.client = client
        self.connection_row_id = connection_row_id

    # -- reading ---------------------------------------------------------------------------

    def settings(self) -> ConnectorSettings:
        rows = self.client.get(
            "dxc_settings",
            {
                "$filter": f"_dxc_connectionid_value eq {self.connection_row_id}",
                "$expand": "dxc_DefaultSalesAccountId($select=dxc_code),"
                "dxc_DefaultPurchaseAccountId($select=dxc_code)",
                "$top": "1",
            },
        )["value"]
        if not rows:
            return ConnectorSettings()
        row = rows[0]
        status = _option(schema.INVOICE_STATUS, row.get("dxc_defaultinvoicestatus")) or "Draft"
        return ConnectorSettings(
            use_xero_invoice_number=bool(row.get("dxc_usexeroinvoicenumber", True)),
            create_contacts=bool(row.get("dxc_createcontacts", True)),
            create_products=bool(row.get("dxc_createproducts", True)),
            default_status=XeroStatus(status.upper()),
            default_sales_account=(row.get("dxc_DefaultSalesAccountId") or {}).get("dxc_code"),
            default_purchase_account=(row.get("dxc_DefaultPurchaseAccountId") or {}).get(
                "dxc_code"
            ),
            create_credit_note=bool(row.get("dxc_createcreditnote", False)),
            timezone=row.get("dxc_timezone") or "Europe/London",
            field_mappings=row.get("dxc_fieldmappings") or "",
        )

    def ready_invoices(self, limit: int, extra: ExtraColumns, delivered_by: date) -> list[Invoice]:
        """The first `limit` invoices of this connection ready to export: active, with no Xero
        details or export status No (a lambda over the Xero details: exported invoices cost
        nothing however many there are), delivered by `delivered_by` or with no date (which
        fails them). The engine asks again after each batch, as exporting one takes it out of
        this set: following a nextLink over a set that shrinks would skip invoices."""
        no = schema.option_value(schema.EXPORT_STATUS, "No")
        condition = (
            f"{_DETAILS_NAV}/all(d:d/dxc_exportstatus eq {no}) and "
            f"(datedelivered le {delivered_by.isoformat()} or datedelivered eq null)"
        )
        return next(self._invoice_pages(condition, limit, extra), [])

    def edited_invoice_pages(
        self, since: datetime, page_size: int, extra: ExtraColumns = NO_EXTRA
    ) -> Iterator[list[Invoice]]:
        yes = schema.option_value(schema.EXPORT_STATUS, "Yes")
        condition = (
            f"modifiedon ge {_iso(since)} and {_DETAILS_NAV}/any(d:d/dxc_exportstatus eq {yes})"
        )
        return self._invoice_pages(condition, page_size, extra)

    def invoice_changes(self, delta_link: str | None) -> InvoiceChanges:
        """Dynamics' change feed of invoices (reference/dataverse.md §5): from `delta_link`, the
        rows changed since and the ids deleted; without one, or when Dataverse refuses it as
        expired (ExpireChangeTrackingInDays, 7 by default), every invoice and a fresh link."""
        expired = False
        if delta_link:
            try:
                return self._changes(delta_link, full=False, expired=False)
            except RemoteRejected as exc:
                if exc.code != EXPIRED_VERSION_STAMP:
                    raise
                expired = True
        return self._changes(None, full=True, expired=expired)

    def _changes(self, link: str | None, *, full: bool, expired: bool) -> InvoiceChanges:
        prefer = f"odata.track-changes,odata.maxpagesize={CHANGES_PAGE}"
        params = None if link else {"$select": _TRACKED}
        body = self.client.get(link or "invoices", params, Prefer=prefer)
        cancelled: list[str] = []
        deleted: list[str] = []
        present: set[str] = set()
        names: dict[str, str] = {}
        while True:
            for row in body.get("value", []):
                if "$deletedEntity" in str(row.get("@odata.context", "")):
                    deleted.append(str(row["id"]))
                    continue
                present.add(row["invoiceid"])
                ours = row.get("_dxc_connectionid_value") == self.connection_row_id
                if ours and row.get("statecode") == CANCELED:
                    cancelled.append(row["invoiceid"])
                    names[row["invoiceid"]] = row.get("name") or ""
            next_link = body.get("@odata.nextLink")
            if not next_link:
                break
            body = self.client.get(next_link, Prefer=prefer)
        return InvoiceChanges(
            cancelled=tuple(cancelled),
            deleted=tuple(deleted),
            delta_link=str(body.get("@odata.deltaLink") or ""),
            present=frozenset(present) if full else None,
            expired=expired,
            names=names,
        )

    def linked_invoices(self, xero_ids: Sequence[str]) -> dict[str, HeldInvoice]:
        """This connection's exported invoices behind these Xero InvoiceIDs, with their Xero
        details, payment rows and customer: one query per IDS_PER_QUERY ids, all in one $batch
        (inside which Dataverse takes URLs of up to 64 KB)."""
        ids = sorted({i.lower() for i in xero_ids})
        queries = [
            ("dxc_xerodetails", self._linked_query(ids[start : start + IDS_PER_QUERY]))
            for start in range(0, len(ids), IDS_PER_QUERY)
        ]
        found: dict[str, HeldInvoice] = {}
        for rows in self.client.query_batch(queries) if queries else []:
            for row in rows:
                held = _held_invoice(row)
                if held is not None:
                    found[str(row["dxc_xeroinvoiceid"]).lower()] = held
        return found

    def _linked_query(self, ids: Sequence[str]) -> dict[str, str]:
        values = ",".join(f"'{i}'" for i in ids)
        return {
            "$select": _LINKED_DETAIL,
            "$filter": "Microsoft.Dynamics.CRM.In(PropertyName='dxc_xeroinvoiceid',"
            f"PropertyValues=[{values}]) and "
            f"dxc_InvoiceId/_dxc_connectionid_value eq {self.connection_row_id}",
            "$expand": "dxc_InvoiceId($select=invoiceid,name,statecode,dxc_amountdue;"
            f"$expand=customerid_account($select=accountid,{_BALANCE}),"
            f"customerid_contact($select=contactid,{_BALANCE}),"
            f"{_PAYMENTS_NAV}($select={_PAYMENT}))",
        }

    def linked_customers(self) -> list[HeldCustomer]:
        """Every account and contact linked to a Xero contact, with the balances it shows."""
        found: list[HeldCustomer] = []
        for kind, entity_set in (("account", "accounts"), ("contact", "contacts")):
            params = {
                "$select": f"{kind}id,{_BALANCE}",
                "$filter": "dxc_xerocontactid ne null",
            }
            for rows in self.client.pages(entity_set, params):
                found += [_held_customer(kind, row) for row in rows]
        return found

    def column_types(self, table: str) -> dict[str, str]:
        """Column logical name -> Dataverse AttributeType, from the table's metadata."""
        rows = self.client.get(
            f"EntityDefinitions(LogicalName='{table}')/Attributes",
            {"$select": "LogicalName,AttributeType"},
        )["value"]
        return {r["LogicalName"]: str(r.get("AttributeType")) for r in rows}

    def _invoice_pages(
        self, condition: str, page_size: int, extra: ExtraColumns = NO_EXTRA
    ) -> Iterator[list[Invoice]]:
        params = {
            "$select": _with(_INVOICE, extra.columns("invoice")),
            "$filter": f"_dxc_connectionid_value eq {self.connection_row_id} "
            f"and statecode eq {ACTIVE} and {condition}",
            "$expand": _expand(extra),
            "$orderby": "createdon asc",
        }
        # Formatted values always: a line's pricing error is named by Dynamics' own label.
        for rows in self.client.pages("invoices", params, page_size, prefer=_FORMATTED):
            yield [self._invoice(r, _xero_link(r.get(_DETAILS_NAV) or []), extra) for r in rows]

    def _invoice(self, row: dict[str, Any], link: XeroLink | None, extra: ExtraColumns) -> Invoice:
        invoice_type = _option(schema.INVOICE_TYPE, row.get("dxc_invoicetype")) or "Sales"
        amounts = _option(schema.LINE_AMOUNT_TYPES, row.get("dxc_lineamounttypes")) or "Exclusive"
        currency = row.get("transactioncurrencyid") or {}
        theme = row.get("dxc_BrandingThemeId") or {}
        return Invoice(
            id=row["invoiceid"],
            name=row.get("name") or "",
            number=row.get("invoicenumber"),
            description=row.get("description"),
            customer=_customer(row, extra),
            has_price_list=bool(row.get("_pricelevelid_value")),
            price_list_name=(row.get("pricelevelid") or {}).get("name"),
            currency=currency.get("isocurrencycode"),
            date_delivered=_day(row.get("datedelivered")),
            due_date=_day(row.get("duedate")),
            invoice_type=InvoiceType(invoice_type),
            line_amount_types=LineAmountTypes(amounts),
            branding_theme_id=theme.get("dxc_xerobrandingthemeid"),
            lines=tuple(_line(d, extra) for d in row.get("invoice_details") or []),
            state=int(row.get("statecode") or 0),
            xero=link,
            extra=_values(extra, "invoice", row),
            modified_on=_moment(row.get("modifiedon")),
            url=f"{self.client.org_url}/main.aspx?etn=invoice&pagetype=entityrecord"
            f"&id={row['invoiceid']}",
        )

    def linked_invoice_pages(self, page_size: int = 1000) -> Iterator[list[LinkedInvoice]]:
        """Every invoice of this connection its Xero details link to a Xero invoice (export
        status Yes), whatever its state, a page at a time."""
        yes = schema.option_value(schema.EXPORT_STATUS, "Yes")
        params = {
            "$select": "invoiceid,name,totalamount,totaltax",
            "$filter": f"_dxc_connectionid_value eq {self.connection_row_id} and "
            f"{_DETAILS_NAV}/any(d:d/dxc_exportstatus eq {yes})",
            "$expand": f"{_DETAILS_NAV}($select=dxc_xeroinvoiceid,dxc_xerostatus,dxc_amountdue)",
            "$orderby": "invoiceid asc",
        }
        for rows in self.client.pages("invoices", params, page_size):
            page = []
            for row in rows:
                detail = (row.get(_DETAILS_NAV) or [{}])[0]
                if not detail.get("dxc_xeroinvoiceid"):
                    continue  # Yes without an id: nothing in Xero to compare with
                page.append(
                    LinkedInvoice(
                        invoice_id=row["invoiceid"],
                        name=row.get("name") or "",
                        xero_id=str(detail["dxc_xeroinvoiceid"]).lower(),
                        total=_money(row.get("totalamount")),
                        tax=_money(row.get("totaltax")),
                        xero_status=detail.get("dxc_xerostatus"),
                        # None until the back-sync first brought Xero's amount due
                        amount_due=_amount(detail.get("dxc_amountdue")),
                    )
                )
            yield page

    def unlinked_invoice_pages(
        self, since: date, page_size: int = 1000
    ) -> Iterator[list[UnlinkedInvoice]]:
        """This connection's invoices delivered on or after `since` that no Xero details link
        to Xero (none, or export status No or Failed), a page at a time."""
        yes = schema.option_value(schema.EXPORT_STATUS, "Yes")
        params = {
            "$select": "invoiceid,name,invoicenumber,datedelivered,totalamount,dxc_invoicetype",
            "$filter": f"_dxc_connectionid_value eq {self.connection_row_id} and "
            f"datedelivered ge {since.isoformat()} and "
            f"{_DETAILS_NAV}/all(d:d/dxc_exportstatus ne {yes})",
            "$expand": "customerid_account($select=name,dxc_xerocontactid),"
            "customerid_contact($select=fullname,dxc_xerocontactid)",
            "$orderby": "invoiceid asc",
        }
        for rows in self.client.pages("invoices", params, page_size):
            page = []
            for row in rows:
                customer = row.get("customerid_account") or row.get("customerid_contact") or {}
                kind = _option(schema.INVOICE_TYPE, row.get("dxc_invoicetype"))
                xero_contact = customer.get("dxc_xerocontactid")
                page.append(
                    UnlinkedInvoice(
                        invoice_id=row["invoiceid"],
                        name=row.get("name") or "",
                        number=row.get("invoicenumber"),
                        customer_name=customer.get("name") or customer.get("fullname") or "",
                        customer_xero_id=str(xero_contact).lower() if xero_contact else None,
                        date=_day(row.get("datedelivered")),
                        total=_money(row.get("totalamount")),
                        type="ACCPAY" if kind == "Purchase" else "ACCREC",
                    )
                )
            yield page

    def failed_invoices(
        self, number: str | None = None, *, reasons: bool = False
    ) -> list[FailedInvoice]:
        """This connection's invoices whose export status is Failed (only the one of that
        Dynamics invoice number, when given; an unknown number raises ConfigurationError).
        With `reasons`, each comes with its latest failed Sync History row, in the same query
        (a nested $expand: reference/dataverse.md, PAD:webapi/query/join-tables.md)."""
        failed = schema.option_value(schema.EXPORT_STATUS, "Failed")
        condition = f"_dxc_connectionid_value eq {self.connection_row_id}"
        if number is not None:
            quoted = number.replace("'", "''")
            condition += f" and invoicenumber eq '{quoted}'"
        expand = f"{_DETAILS_NAV}($select=dxc_xerodetailid,dxc_exportstatus)"
        if reasons:
            status = schema.option_value(schema.SYNC_STATUS, "Failed")
            expand += (
                f",{_HISTORY_NAV}($select=dxc_details,dxc_eventdate;"
                f"$filter=dxc_syncstatus eq {status};$orderby=dxc_eventdate desc;$top=1)"
            )
        params = {
            "$select": "invoiceid,name,invoicenumber",
            "$filter": condition,
            "$expand": expand,
            "$orderby": "invoicenumber asc,invoiceid asc",
        }
        if number is None:
            params["$filter"] += f" and {_FAILED_DETAIL}"
        found: list[FailedInvoice] = []
        seen = False
        for rows in self.client.pages("invoices", params):
            for row in rows:
                seen = True
                latest = (row.get(_HISTORY_NAV) or [{}])[0]
                for detail in row.get(_DETAILS_NAV) or []:
                    if detail.get("dxc_exportstatus") == failed:
                        found.append(
                            FailedInvoice(
                                row["invoiceid"],
                                row.get("invoicenumber") or row.get("name") or "",
                                detail["dxc_xerodetailid"],
                                latest.get("dxc_details") or "",
                                _moment(latest.get("dxc_eventdate")),
                            )
                        )
        if number is not None and not seen:
            raise ConfigurationError(
                f"no invoice numbered {number!r} in this connection's Dynamics invoices"
            )
        return found

    def failed_count(self) -> int:
        """How many of this connection's invoices have export status Failed (up to
        COUNT_LIMIT), in one GET: $count=true counts every row the filter matches whatever the
        page size (PAD:webapi/query/count-rows.md), so a page of one row is asked for. (Not
        $top: that page says nothing of $count with $top.)"""
        body = self.client.get(
            "invoices",
            {
                "$select": "invoiceid",
                "$filter": f"_dxc_connectionid_value eq {self.connection_row_id} "
                f"and {_FAILED_DETAIL}",
                "$count": "true",
            },
            Prefer="odata.maxpagesize=1",
        )
        return int(body["@odata.count"])

    def reset_export_status(self, detail_ids: Sequence[str]) -> None:
        """Export status No on these Xero details, in $batch requests (one change set each)."""
        no = schema.option_value(schema.EXPORT_STATUS, "No")
        self._raise_failures(
            self.client.batch(
                [
                    [
                        Operation(
                            "PATCH", f"dxc_xerodetails({i})", {"dxc_exportstatus": no}, _EXISTING
                        )
                    ]
                    for i in detail_ids
                ]
            )
        )

    # -- setting up a connection ----------------------------------------------------------

    def ensure_connection(
        self, name: str, tenant_id: str, organisation: str, portal_connection_id: str
    ) -> None:
        """The dxc_connection row (created or refreshed; its id is ours to choose)."""
        self.client.update(
            "dxc_connections",
            self.connection_row_id,
            {
                "dxc_name": name[:200],
                "dxc_xerotenantid": tenant_id,
                "dxc_xeroorganisation": organisation[:200],
                "dxc_portalconnectionid": portal_connection_id,
                "dxc_message": None,
            },
        )

    def ensure_settings(
        self,
        tenant_id: str,
        sales_account_id: str | None,
        purchase_account_id: str | None,
        timezone: str = "Europe/London",
    ) -> bool:
        """The connection's dxc_setting row with the seed's defaults, unless it has one: a
        user's own choices are never overwritten. True when it was created."""
        existing = self.client.get(
            "dxc_settings",
            {
                "$select": "dxc_settingid",
                "$filter": f"_dxc_connectionid_value eq {self.connection_row_id}",
            },
        )["value"]
        if existing:
            return False
        row: dict[str, Any] = {
            "dxc_name": "Xero connector settings",
            "dxc_ConnectionId@odata.bind": f"/dxc_connections({self.connection_row_id})",
            "dxc_usexeroinvoicenumber": True,
            "dxc_createcontacts": True,
            "dxc_createproducts": True,
            "dxc_defaultinvoicestatus": schema.option_value(schema.INVOICE_STATUS, "Draft"),
            "dxc_createcreditnote": False,
            "dxc_timezone": timezone,
        }
        for nav, account_id in (
            ("dxc_DefaultSalesAccountId", sales_account_id),
            ("dxc_DefaultPurchaseAccountId", purchase_account_id),
        ):
            if account_id:
                row[f"{nav}@odata.bind"] = f"/dxc_chartofaccounts({account_id})"
        self.client.create("dxc_settings", row)
        return True

    # -- writing ---------------------------------------------------------------------------

    def has_reference_rows(self, kind: str) -> bool:
        """Whether Dynamics has any active row of this kind of reference data."""
        entity_set, key = REFERENCE_TABLES[kind]
        params = {"$select": key, "$filter": f"statecode eq {ACTIVE}", "$top": "1"}
        return bool(self.client.get(entity_set, params)["value"])

    def write_reference_data(
        self, tenant_id: str, data: ReferenceData, kinds: Sequence[str] = REFERENCE_KINDS
    ) -> dict[str, int]:
        """Each kind in its own change set, in the seed's order (accounts find their tax
        rates); rows Xero no longer lists are deactivated, never deleted. Counts by table (rows
        written), by table + " created" (of those, rows Dynamics did not have) and by table +
        " deactivated" where rows were."""
        changesets, counts = [], {}
        for kind in REFERENCE_KINDS:
            if kind not in kinds:
                continue
            entity_set, key = REFERENCE_TABLES[kind]
            upserts = reference_operations(tenant_id, data, kind)
            wanted = {op.path for op in upserts}
            tag, key_column = REFERENCE_KEYS[kind]
            select = {"$select": f"{key},{key_column},statecode"}
            # Only rows of this Xero organisation: a row's id is derived from its tenant and Xero
            # key, so another connection's rows in the same Dynamics are left alone.
            ours = [
                (f"{entity_set}({r[key]})", r)
                for page in self.client.pages(entity_set, select)
                for r in page
                if r[key] == _reference_id(tenant_id, tag, r.get(key_column) or "")
            ]
            gone = [
                Operation("PATCH", path, _deactivated(kind), _EXISTING)
                for path, r in ours
                if path not in wanted and r.get("statecode") == ACTIVE
            ]
            changesets += [ops for ops in (upserts, gone) if ops]
            counts[entity_set] = len(upserts)
            counts[f"{entity_set} created"] = len(wanted - {path for path, _ in ours})
            if gone:
                counts[f"{entity_set} deactivated"] = len(gone)
        self._raise_failures(self.client.batch(changesets))
        return counts

    def write_back(self, changes: Sequence[WriteBack]) -> list[str]:
        """One $batch; one change set per invoice, so one invoice's failure spares the rest.
        Returns Dynamics' reasons for the change sets it refused.

        Line tax goes first, one line a change set: an invoice paid or canceled in Dynamics
        meanwhile is read-only and refuses it, which must not undo its Xero details and Sync
        History. Each such change set has exactly one response, so the first results are the
        taxes'; an invoice whose tax was refused gets a Sync History note saying so."""
        taxes: list[tuple[str, Operation]] = []
        groups: dict[str, list[Operation]] = {}
        for change in changes:
            key, op = _operation(change)
            if isinstance(change, LineTax):
                taxes.append((key, op))
            else:
                groups.setdefault(key, []).append(op)
        results = self.client.batch([[op] for _, op in taxes] + list(groups.values()))
        refused: dict[str, str] = {}
        for (invoice_id, _), result in zip(taxes, results, strict=False):
            if result.status >= 400:
                refused.setdefault(invoice_id, _error(result))
        if refused:
            now = datetime.now(UTC)
            notes = [
                HistoryEntry(i, now, SyncAction.UPDATE, SyncStatus.FAILED, tax_not_written(why))
                for i, why in refused.items()
            ]
            results += self.client.batch([[_operation(note)[1]] for note in notes])
        return [
            f"Dynamics refused a write-back: {_error(r)}"
            for r in results[len(taxes) :]
            if r.status >= 400
        ]

    @staticmethod
    def _raise_failures(results: Sequence[OperationResult]) -> None:
        failed = [r for r in results if r.status >= 400]
        if failed:
            raise RemoteRejected(
                f"Dynamics refused {len(failed)} of {len(results)} writes: {_error(failed[0])}",
                status=failed[0].status,
                service="dataverse",
            )


def _error(result: OperationResult) -> str:
    return str((result.body or {}).get("error", {}).get("message", result.status))


def _xero_link(rows: list[dict[str, Any]]) -> XeroLink | None:
    if not rows:
        return None
    row = rows[0]  # one per invoice: the connector only ever makes one (its id is derived)
    status = _option(schema.EXPORT_STATUS, row.get("dxc_exportstatus")) or "No"
    return XeroLink(
        detail_id=row["dxc_xerodetailid"],
        export_status=ExportStatus(status),
        xero_invoice_id=row.get("dxc_xeroinvoiceid"),
        xero_invoice_number=row.get("dxc_xeroinvoicenumber"),
        xero_status=row.get("dxc_xerostatus"),
    )


def _customer(row: dict[str, Any], extra: ExtraColumns) -> Customer | None:
    account, contact = row.get("customerid_account"), row.get("customerid_contact")
    if account:
        return Customer(
            kind="account",
            id=account["accountid"],
            name=account.get("name") or "",
            email=account.get("emailaddress1"),
            phone=account.get("telephone1"),
            address=_address(account),
            xero_contact_id=account.get("dxc_xerocontactid"),
            extra=_values(extra, "account", account),
        )
    if contact:
        return Customer(
            kind="contact",
            id=contact["contactid"],
            name=contact.get("fullname") or "",
            email=contact.get("emailaddress1"),
            phone=contact.get("telephone1"),
            address=_address(contact),
            xero_contact_id=contact.get("dxc_xerocontactid"),
            first_name=contact.get("firstname"),
            last_name=contact.get("lastname"),
            extra=_values(extra, "contact", contact),
        )
    return None


def _held_customer(kind: str, row: dict[str, Any]) -> HeldCustomer:
    return HeldCustomer(
        kind,
        row[f"{kind}id"],
        str(row.get("dxc_xerocontactid") or "").lower(),
        _amount(row.get("dxc_amountowed")),
        _amount(row.get("dxc_amountoverdue")),
    )


def _held_invoice(row: dict[str, Any]) -> HeldInvoice | None:
    invoice = row.get("dxc_InvoiceId")
    if not invoice:
        return None
    account, contact = invoice.get("customerid_account"), invoice.get("customerid_contact")
    customer = (
        _held_customer("account", account)
        if account
        else _held_customer("contact", contact)
        if contact
        else None
    )
    payments = tuple(
        HeldPayment(
            p["dxc_paymentid"],
            _option(schema.PAYMENT_KIND, p.get("dxc_kind")),
            p.get("dxc_xeropaymentid"),
            _amount(p.get("dxc_amount")),
            _day(p.get("dxc_date")),
            p.get("dxc_reference"),
            p.get("dxc_currency"),
        )
        for p in invoice.get(_PAYMENTS_NAV) or []
    )
    return HeldInvoice(
        invoice_id=invoice["invoiceid"],
        name=invoice.get("name") or "",
        state=int(invoice.get("statecode") or 0),
        detail_id=row["dxc_xerodetailid"],
        xero_status=row.get("dxc_xerostatus"),
        detail_amount_due=_amount(row.get("dxc_amountdue")),
        amount_due=_amount(invoice.get("dxc_amountdue")),
        payments=payments,
        customer=customer,
    )


def _address(row: dict[str, Any]) -> Address | None:
    address = Address(
        line1=row.get("address1_line1"),
        line2=row.get("address1_line2"),
        city=row.get("address1_city"),
        region=row.get("address1_stateorprovince"),
        postal_code=row.get("address1_postalcode"),
        country=row.get("address1_country"),
    )
    return address if any(vars(address).values()) else None


def _line(row: dict[str, Any], extra: ExtraColumns) -> InvoiceLine:
    product = row.get("productid") or {}
    tax = row.get("dxc_TaxTypeId") or {}
    account = row.get("dxc_AccountCodeId") or {}
    tracking = tuple(
        v for v in (row.get("dxc_trackingoption1"), row.get("dxc_trackingoption2")) if v
    )
    write_in = bool(row.get("isproductoverridden")) or not product
    return InvoiceLine(
        id=row["invoicedetailid"],
        description=(row.get("productdescription") if write_in else product.get("name")) or "",
        quantity=_money(row.get("quantity")),
        unit_price=_money(row.get("priceperunit")),
        discount_amount=_money(row.get("manualdiscountamount")),
        is_write_in=write_in,
        product_id=product.get("productid"),
        product_number=product.get("productnumber"),
        product_name=product.get("name"),
        tax_type=tax.get("dxc_taxtypecode"),
        account_code=account.get("dxc_code"),
        tracking=tracking,
        sequence=int(row.get("sequencenumber") or row.get("lineitemnumber") or 0),
        extra=_values(extra, "line", row),
        pricing_error=int(row.get("pricingerrorcode") or 0),
        pricing_error_label=row.get("pricingerrorcode" + _FORMATTED_KEY),
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def detail_row_id(change: XeroDetailChange | DetailHistory | DetailStatus) -> str:
    """The invoice's dxc_xerodetail row: the connector makes one per invoice, with an id derived
    from the invoice's, so it is found again after the invoice is deleted."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, change.invoice_id))


def _operation(change: WriteBack) -> tuple[str, Operation]:
    """(the invoice or record it belongs to, the upsert that makes it so)."""
    if isinstance(change, XeroDetailChange):
        detail_id = change.detail_id or detail_row_id(change)
        body = {
            "dxc_name": change.invoice_name[:200],
            "dxc_InvoiceId@odata.bind": f"/invoices({change.invoice_id})",
            "dxc_exportstatus": schema.option_value(
                schema.EXPORT_STATUS, change.export_status.value
            ),
            "dxc_exportdate": _iso(change.export_date),
            "dxc_xeroinvoiceid": change.xero_invoice_id,
            "dxc_xeroinvoicenumber": change.xero_invoice_number,
            "dxc_xerostatus": change.xero_status,
            "dxc_xerourl": change.xero_url,
        }
        return change.invoice_id, Operation("PATCH", f"dxc_xerodetails({detail_id})", body)
    if isinstance(change, HistoryEntry):  # DetailHistory too
        body = {
            "dxc_name": change.name,
            "dxc_eventdate": _iso(change.when),
            "dxc_action": schema.option_value(schema.SYNC_ACTION, change.action.value),
            "dxc_syncstatus": schema.option_value(schema.SYNC_STATUS, change.status.value),
            "dxc_details": change.details[:4000],
        }
        row_id = str(uuid.uuid4())
        if isinstance(change, DetailHistory):
            body["dxc_XeroDetailId@odata.bind"] = f"/dxc_xerodetails({detail_row_id(change)})"
            # An invoice is cancelled in Xero once: its record has one row, written again (not
            # twice) by a pass that finishes the work of one that stopped before recording it.
            row_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"cancellation:{change.invoice_id}"))
        if not isinstance(change, DetailHistory) or change.invoice_exists:
            body["dxc_InvoiceId@odata.bind"] = f"/invoices({change.invoice_id})"
        return change.invoice_id, Operation("PATCH", f"dxc_synchistories({row_id})", body)
    if isinstance(change, DetailStatus):
        body = {"dxc_xerostatus": change.xero_status}
        path = f"dxc_xerodetails({detail_row_id(change)})"
        return change.invoice_id, Operation("PATCH", path, body, _EXISTING)
    if isinstance(change, LineTax):
        return change.invoice_id, Operation(
            "PATCH", f"invoicedetails({change.line_id})", {"tax": float(change.tax)}, _EXISTING
        )
    if isinstance(change, CustomerLink | CustomerBalance):
        return _customer_operation(change)
    return _settlement_operation(change)


def _customer_operation(change: CustomerLink | CustomerBalance) -> tuple[str, Operation]:
    entity_set = "accounts" if change.kind == "account" else "contacts"
    if isinstance(change, CustomerBalance):
        body = {"dxc_amountowed": float(change.owed), "dxc_amountoverdue": float(change.overdue)}
        return change.customer_id, Operation(
            "PATCH", f"{entity_set}({change.customer_id})", body, _EXISTING
        )
    return change.customer_id, Operation(
        "PATCH",
        f"{entity_set}({change.customer_id})",
        {"dxc_xerocontactid": change.xero_contact_id},
        _EXISTING,
    )


def _settlement_operation(
    change: XeroStatusChange | InvoiceAmountDue | InvoiceState | PaymentRecord | PaymentRemoved,
) -> tuple[str, Operation]:
    """What comes back from Xero for an invoice; the invoice's own rows only ever updated."""
    key = change.invoice_id
    if isinstance(change, XeroStatusChange):
        body: dict[str, Any] = {
            "dxc_xerostatus": change.xero_status,
            "dxc_amountdue": float(change.amount_due),
        }
        return key, Operation("PATCH", f"dxc_xerodetails({change.detail_id})", body, _EXISTING)
    if isinstance(change, InvoiceAmountDue):
        body = {"dxc_amountdue": float(change.amount_due)}
        return key, Operation("PATCH", f"invoices({key})", body, _EXISTING)
    if isinstance(change, InvoiceState):
        body = {"statecode": change.state, "statuscode": change.status}
        return key, Operation("PATCH", f"invoices({key})", body, _EXISTING)
    if isinstance(change, PaymentRemoved):
        return key, Operation("DELETE", f"dxc_payments({change.row_id})")
    body = {
        "dxc_name": change.name[:200],
        "dxc_InvoiceId@odata.bind": f"/invoices({key})",
        "dxc_kind": schema.option_value(schema.PAYMENT_KIND, change.kind.value),
        "dxc_xeropaymentid": change.xero_id,
        "dxc_amount": float(change.amount),
        "dxc_date": f"{change.on.isoformat()}T00:00:00Z" if change.on else None,
        "dxc_reference": (change.reference or "")[:255] or None,
        "dxc_currency": change.currency,
    }
    return key, Operation("PATCH", f"dxc_payments({change.row_id})", body)


def _reference_id(tenant_id: str, kind: str, key: str) -> str:
    """The same Xero record always lands on the same Dynamics row."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"xero:{tenant_id}:{kind}:{key}"))


def _state(status: str | None) -> dict[str, int]:
    """Active in Dynamics while active in Xero: archived or deleted rows are deactivated."""
    if status is None or status.upper() == "ACTIVE":
        return {"statecode": ACTIVE, "statuscode": ACTIVE_STATUS}
    return {"statecode": INACTIVE, "statuscode": INACTIVE_STATUS}


def _deactivated(kind: str) -> dict[str, Any]:
    """A row Xero no longer lists at all (removed there)."""
    body: dict[str, Any] = {"statecode": INACTIVE, "statuscode": INACTIVE_STATUS}
    if kind != "brandingthemes":  # themes have no status column
        body["dxc_status"] = "DELETED"
    return body


def reference_operations(tenant_id: str, data: ReferenceData, kind: str) -> list[Operation]:
    """Upserts for one kind: tax rates, accounts (bound to their tax rate) or branding themes."""
    if kind == "taxrates":
        return [
            Operation(
                "PATCH",
                f"dxc_taxtypes({_reference_id(tenant_id, 'tax', r.code)})",
                {
                    "dxc_name": r.name[:200],
                    "dxc_taxtypecode": r.code,
                    "dxc_effectiverate": float(r.rate),
                    "dxc_status": r.status,
                    **_state(r.status),
                },
            )
            for r in data.tax_rates
        ]
    if kind == "accounts":
        known_taxes = {r.code for r in data.tax_rates}
        accounts = []
        for a in data.accounts:
            body: dict[str, Any] = {
                "dxc_name": a.name[:200],
                "dxc_code": a.code,
                "dxc_accounttype": a.type,
                "dxc_xeroaccountid": a.xero_id,
                "dxc_status": a.status,
                **_state(a.status),
            }
            if a.tax_type in known_taxes:
                tax_id = _reference_id(tenant_id, "tax", a.tax_type or "")
                body["dxc_TaxTypeId@odata.bind"] = f"/dxc_taxtypes({tax_id})"
            row_id = _reference_id(tenant_id, "account", a.xero_id)
            accounts.append(Operation("PATCH", f"dxc_chartofaccounts({row_id})", body))
        return accounts
    return [
        Operation(
            "PATCH",
            f"dxc_brandingthemes({_reference_id(tenant_id, 'theme', t.xero_id)})",
            {
                "dxc_name": t.name[:200],
                "dxc_xerobrandingthemeid": t.xero_id,
                "dxc_sortorder": t.sort_order,
                **_state(None),
            },
        )
        for t in data.branding_themes
    ]


def reference_row_id(tenant_id: str, kind: str, key: str) -> str:
    return _reference_id(tenant_id, kind, key)
