"""The d365xero Dataverse schema, defined once: the solution zip and the Dataverse emulator are
both made from it.

Names follow Dataverse: a column is declared by its SchemaName (publisher prefix `dxc_`), its
logical name is the SchemaName in lower case, and a lookup is written through its navigation
property, which for a custom lookup is the lookup's SchemaName
(`"dxc_ConnectionId@odata.bind": "/dxc_connections(<id>)"`) and read as
`_dxc_connectionid_value`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

PUBLISHER_PREFIX = "dxc"
OPTION_VALUE_PREFIX = 10000
SOLUTION_UNIQUE_NAME = "d365xero"
SOLUTION_VERSION = "1.0.0.0"


class ColumnType(StrEnum):
    STRING = "nvarchar"
    MEMO = "ntext"
    BOOLEAN = "bit"
    PICKLIST = "picklist"
    LOOKUP = "lookup"
    DATETIME = "datetime"
    DECIMAL = "decimal"
    MONEY = "money"
    INTEGER = "int"


@dataclass(frozen=True)
class Option:
    value: int
    label: str


@dataclass(frozen=True)
class Column:
    schema_name: str
    type: ColumnType
    display_name: str
    description: str
    max_length: int | None = None
    options: tuple[Option, ...] = ()
    targets: tuple[str, ...] = ()  # lookup: logical names of the tables it points to
    required: bool = False
    precision: int | None = None
    format: str | None = None  # a string column's Dataverse format: "url", "email", ...

    @property
    def logical_name(self) -> str:
        return self.schema_name.lower()

    @property
    def navigation_property(self) -> str:
        """For a lookup: the single-valued navigation property, as Dataverse names it."""
        return self.schema_name


@dataclass(frozen=True)
class Table:
    schema_name: str
    display_name: str
    plural_name: str
    description: str
    primary_name: Column
    columns: tuple[Column, ...] = ()
    change_tracking: bool = True

    @property
    def logical_name(self) -> str:
        return self.schema_name.lower()

    @property
    def entity_set_name(self) -> str:
        name = self.logical_name
        if name.endswith("y") and not name.endswith(("ay", "ey", "oy", "uy")):
            return name[:-1] + "ies"
        return name + "s"

    @property
    def primary_id(self) -> str:
        return self.logical_name + "id"

    @property
    def all_columns(self) -> tuple[Column, ...]:
        return (self.primary_name, *self.columns)


@dataclass(frozen=True)
class TableExtension:
    """New columns our solution adds to a system table (invoice, account, ...)."""

    logical_name: str
    columns: tuple[Column, ...] = field(default_factory=tuple)


def _opt(n: int, label: str) -> Option:
    return Option(OPTION_VALUE_PREFIX * 10000 + n, label)


YES_NO = (Option(0, "No"), Option(1, "Yes"))

EXPORT_NO, EXPORT_YES, EXPORT_FAILED = (_opt(0, "No"), _opt(1, "Yes"), _opt(2, "Failed"))
EXPORT_STATUS = (EXPORT_NO, EXPORT_YES, EXPORT_FAILED)

INVOICE_STATUS = (_opt(0, "Draft"), _opt(1, "Submitted"), _opt(2, "Authorised"))
SYNC_ACTION = (
    _opt(0, "Create"),
    _opt(1, "Update"),
    _opt(2, "Delete"),
    _opt(3, "Void"),
    _opt(4, "CreditNote"),
    _opt(5, "Payment"),
)
SYNC_STATUS = (_opt(0, "Successful"), _opt(1, "Failed"))
INVOICE_TYPE = (_opt(0, "Sales"), _opt(1, "Purchase"))
LINE_AMOUNT_TYPES = (_opt(0, "Exclusive"), _opt(1, "Inclusive"), _opt(2, "NoTax"))
PAYMENT_KIND = (
    _opt(0, "Payment"),
    _opt(1, "CreditNote"),
    _opt(2, "Overpayment"),
    _opt(3, "Prepayment"),
)


def option_value(options: tuple[Option, ...], label: str) -> int:
    for option in options:
        if option.label == label:
            return option.value
    raise KeyError(label)


def option_label(options: tuple[Option, ...], value: int | None) -> str | None:
    for option in options:
        if option.value == value:
            return option.label
    return None


def _name(display: str = "Name", description: str = "The record's name.") -> Column:
    return Column("dxc_Name", ColumnType.STRING, display, description, max_length=200)


def _text(schema: str, display: str, description: str, length: int = 100) -> Column:
    return Column(schema, ColumnType.STRING, display, description, max_length=length)


def _lookup(schema: str, display: str, description: str, target: str) -> Column:
    return Column(schema, ColumnType.LOOKUP, display, description, targets=(target,))


def _yes_no(schema: str, display: str, description: str) -> Column:
    return Column(schema, ColumnType.BOOLEAN, display, description, options=YES_NO)


def _choice(schema: str, display: str, description: str, options: tuple[Option, ...]) -> Column:
    return Column(schema, ColumnType.PICKLIST, display, description, options=options)


def _money(schema: str, display: str, description: str) -> Column:
    return Column(schema, ColumnType.MONEY, display, description, precision=2)


CONNECTION = Table(
    "dxc_Connection",
    "Xero connection",
    "Xero connections",
    "A link between this Dynamics 365 organisation and one Xero organisation, made by d365xero.",
    _name("Name", "The connection's name, e.g. 'Xero Demo Company (UK) - Dynamics'."),
    (
        _text("dxc_XeroTenantId", "Xero tenant ID", "The Xero organisation's tenant id.", 50),
        _text("dxc_XeroOrganisation", "Xero organisation", "The Xero organisation's name.", 200),
        _text(
            "dxc_PortalConnectionId",
            "Portal connection ID",
            "The id of this connection in the d365xero portal.",
            50,
        ),
        Column(
            "dxc_Message",
            ColumnType.MEMO,
            "Connection message",
            "Why the connection is paused (for example Xero consent was revoked) and how to "
            "reconnect. Empty while it runs.",
            max_length=4000,
        ),
    ),
)

CHART_OF_ACCOUNT = Table(
    "dxc_ChartOfAccount",
    "Xero account code",
    "Xero account codes",
    "An account from the Xero chart of accounts, imported by the Synchronisation Center.",
    _name("Name", "The account's name in Xero."),
    (
        _text("dxc_Code", "Code", "The account code in Xero, e.g. 200.", 10),
        _text("dxc_AccountType", "Account type", "Xero's account type, e.g. REVENUE.", 50),
        _lookup(
            "dxc_TaxTypeId", "Default tax type", "The account's default tax rate.", "dxc_taxtype"
        ),
        _text("dxc_XeroAccountId", "Xero account ID", "The account's id in Xero.", 50),
        _text("dxc_Status", "Status", "ACTIVE or ARCHIVED in Xero.", 20),
    ),
)

TAX_TYPE = Table(
    "dxc_TaxType",
    "Xero tax rate",
    "Xero tax rates",
    "A tax rate from Xero, imported by the Synchronisation Center.",
    _name("Name", "The tax rate's name in Xero, e.g. '20% (VAT on Income)'."),
    (
        _text("dxc_TaxTypeCode", "Tax type", "Xero's tax type code, e.g. OUTPUT2.", 50),
        Column(
            "dxc_EffectiveRate",
            ColumnType.DECIMAL,
            "Effective rate",
            "The rate in percent.",
            precision=4,
        ),
        _text("dxc_Status", "Status", "ACTIVE, DELETED or ARCHIVED in Xero.", 20),
    ),
)

BRANDING_THEME = Table(
    "dxc_BrandingTheme",
    "Xero branding theme",
    "Xero branding themes",
    "A branding theme from Xero, imported by the Synchronisation Center.",
    _name("Name", "The theme's name in Xero."),
    (
        _text("dxc_XeroBrandingThemeId", "Xero branding theme ID", "The theme's id in Xero.", 50),
        Column("dxc_SortOrder", ColumnType.INTEGER, "Sort order", "Xero's order of themes."),
    ),
)

SETTING = Table(
    "dxc_Setting",
    "Xero connector settings",
    "Xero connector settings",
    "How d365xero syncs invoices for one connection.",
    _name("Name", "The settings' name."),
    (
        _lookup(
            "dxc_ConnectionId",
            "Connection",
            "The connection these settings are for.",
            "dxc_connection",
        ),
        _yes_no(
            "dxc_UseXeroInvoiceNumber",
            "Use Xero invoice number",
            "If Yes, the Xero invoice numbering scheme will be used for the invoice in Xero. If "
            "No, the Dynamics Invoice ID will be used as the Invoice Number in Xero.",
        ),
        _yes_no(
            "dxc_CreateContacts",
            "Create new contacts in Xero",
            "If Yes, details from the Account or Contact against the invoice in Dynamics will be "
            "used to create a Contact in Xero. This is a one-time copy: later changes in either "
            "system are not copied. If No and the contact does not exist in Xero, the invoice is "
            "not created in Xero, and a Sync History record explains why.",
        ),
        _yes_no(
            "dxc_CreateProducts",
            "Create new products in Xero",
            "If Yes, products in Dynamics are created as Items in Xero the first time they are "
            "seen. If No, the invoice is still created, but without item codes for products "
            "that Xero does not have.",
        ),
        _choice(
            "dxc_DefaultInvoiceStatus",
            "Default Xero invoice status",
            "Invoices sent to Xero can be in Draft, Submitted or Authorised status. Draft and "
            "Submitted invoices can be edited before they are approved; with an Authorised "
            "invoice, only limited changes can be made.",
            INVOICE_STATUS,
        ),
        _lookup(
            "dxc_DefaultSalesAccountId",
            "Default Xero sales account",
            "Applied to sales invoice lines that name no account code. If the tax rate is not "
            "set for the line, the account's tax rate is used.",
            "dxc_chartofaccount",
        ),
        _lookup(
            "dxc_DefaultPurchaseAccountId",
            "Default Xero purchase account",
            "Applied to purchase invoice (bill) lines that name no account code. If the tax rate "
            "is not set for the line, the account's tax rate is used.",
            "dxc_chartofaccount",
        ),
        _yes_no(
            "dxc_CreateCreditNote",
            "Create credit note automatically",
            "If Yes, cancelling an invoice in Dynamics deletes a Draft or Submitted invoice in "
            "Xero; for an Authorised one a credit note for the full amount is created and "
            "applied to it; for a part-paid one the credit note is created but not applied; a "
            "paid one is left alone with a Sync History record. If No, drafts are still deleted "
            "and credit notes must be made by hand.",
        ),
        _text(
            "dxc_TimeZone",
            "Time zone",
            "The IANA time zone of your Dynamics and Xero organisations (e.g. Europe/London), "
            "used to decide whether Date Delivered is today or earlier.",
            64,
        ),
        Column(
            "dxc_FieldMappings",
            ColumnType.MEMO,
            "Field mappings",
            "Optional JSON that copies further Dynamics columns into Xero fields.",
            max_length=100000,
        ),
    ),
)

XERO_DETAIL = Table(
    "dxc_XeroDetail",
    "Xero details",
    "Xero details",
    "The Xero invoice that an invoice in Dynamics was exported to.",
    _name("Invoice ID", "The Dynamics invoice's name."),
    (
        _lookup("dxc_InvoiceId", "Invoice", "The Dynamics invoice.", "invoice"),
        _text("dxc_XeroInvoiceId", "Xero invoice ID", "The invoice's id in Xero.", 50),
        _text("dxc_XeroInvoiceNumber", "Xero invoice number", "The invoice number in Xero.", 255),
        _text("dxc_XeroStatus", "Xero invoice status", "Draft, Submitted, Authorised, ...", 50),
        Column(
            "dxc_XeroUrl",
            ColumnType.STRING,
            "Xero invoice URL",
            "Opens the invoice in Xero.",
            max_length=500,
            format="url",
        ),
        _choice(
            "dxc_ExportStatus",
            "Export status",
            "Yes when the invoice is in Xero, Failed when the last try failed (see Sync "
            "History). Set it back to No to have the connector try again.",
            EXPORT_STATUS,
        ),
        Column("dxc_ExportDate", ColumnType.DATETIME, "Export date", "When it was last synced."),
        _money(
            "dxc_AmountDue",
            "Xero amount due",
            "What Xero says is still due on the invoice (kept here too when the invoice itself "
            "is read-only, e.g. cancelled in Dynamics).",
        ),
    ),
)

SYNC_HISTORY = Table(
    "dxc_SyncHistory",
    "Sync history",
    "Sync history",
    "One record per attempt to sync an invoice, with what happened and why.",
    _name("Name", "'Sync - <date and time>'."),
    (
        _lookup("dxc_InvoiceId", "Invoice", "The Dynamics invoice.", "invoice"),
        # Every relationship of ours removes the link on delete (never cascades): the Xero
        # details and this history outlive an invoice deleted in Dynamics, and the history of
        # its cancellation hangs on the Xero details.
        _lookup(
            "dxc_XeroDetailId",
            "Xero details",
            "The invoice's Xero details, which stay when the invoice is deleted in Dynamics.",
            "dxc_xerodetail",
        ),
        Column("dxc_EventDate", ColumnType.DATETIME, "Event date and time", "When it happened."),
        _choice("dxc_Action", "Action", "What the connector did.", SYNC_ACTION),
        Column(
            "dxc_Details",
            ColumnType.MEMO,
            "Details",
            "What happened, and for a failure what to fix.",
            max_length=4000,
        ),
        _choice("dxc_SyncStatus", "Sync status", "Successful or Failed.", SYNC_STATUS),
    ),
)

PAYMENT = Table(
    "dxc_Payment",
    "Xero payment",
    "Xero payments",
    "A payment made against an invoice in Xero (Dynamics Sales has no payment table).",
    _name("Name", "The payment's name."),
    (
        _lookup("dxc_InvoiceId", "Invoice", "The Dynamics invoice.", "invoice"),
        _choice(
            "dxc_Kind",
            "Kind",
            "A payment, or a credit note, overpayment or prepayment applied to the invoice.",
            PAYMENT_KIND,
        ),
        _money("dxc_Amount", "Amount", "The amount paid or credited, in the invoice's currency."),
        _text("dxc_Currency", "Currency", "The invoice's currency code, e.g. GBP.", 3),
        Column("dxc_Date", ColumnType.DATETIME, "Date", "When it was paid or applied."),
        _text(
            "dxc_XeroPaymentId",
            "Xero payment ID",
            "The id in Xero of the payment, or of the credit note, overpayment or prepayment "
            "applied.",
            50,
        ),
        _text(
            "dxc_Reference",
            "Reference",
            "The payment's reference, or the credit note's number, in Xero.",
            255,
        ),
    ),
)

TABLES: tuple[Table, ...] = (
    CONNECTION,
    TAX_TYPE,
    CHART_OF_ACCOUNT,
    BRANDING_THEME,
    SETTING,
    XERO_DETAIL,
    SYNC_HISTORY,
    PAYMENT,
)

_CUSTOMER_COLUMNS = (
    _text("dxc_XeroContactId", "Xero contact ID", "The customer's ContactID in Xero.", 50),
    _money("dxc_AmountOwed", "Amount owed", "Outstanding receivables in Xero."),
    _money("dxc_AmountOverdue", "Amount overdue", "Overdue receivables in Xero."),
)

EXTENSIONS: tuple[TableExtension, ...] = (
    TableExtension(
        "invoice",
        (
            _lookup(
                "dxc_ConnectionId",
                "Xero connection",
                "Set this when the invoice is ready to sync to Xero.",
                "dxc_connection",
            ),
            _choice(
                "dxc_InvoiceType", "Invoice type", "Sales invoice or purchase bill.", INVOICE_TYPE
            ),
            _choice(
                "dxc_LineAmountTypes",
                "Line amount types",
                "Whether line amounts include tax.",
                LINE_AMOUNT_TYPES,
            ),
            _lookup(
                "dxc_BrandingThemeId",
                "Branding theme",
                "The Xero branding theme.",
                "dxc_brandingtheme",
            ),
            _money("dxc_AmountDue", "Amount due", "The amount still due in Xero."),
        ),
    ),
    TableExtension(
        "invoicedetail",
        (
            _lookup(
                "dxc_TaxTypeId",
                "Tax type",
                "Overrides the default tax rate for this line.",
                "dxc_taxtype",
            ),
            _lookup(
                "dxc_AccountCodeId",
                "Account code",
                "Overrides the default account for this line.",
                "dxc_chartofaccount",
            ),
            _text(
                "dxc_TrackingOption1",
                "Tracking option 1",
                "Xero tracking 'Category: Option' for this line.",
                200,
            ),
            _text(
                "dxc_TrackingOption2",
                "Tracking option 2",
                "Xero tracking 'Category: Option' for this line.",
                200,
            ),
        ),
    ),
    TableExtension("account", _CUSTOMER_COLUMNS),
    TableExtension("contact", _CUSTOMER_COLUMNS),
)


def table(logical_name: str) -> Table:
    for t in TABLES:
        if t.logical_name == logical_name:
            return t
    raise KeyError(logical_name)


@dataclass(frozen=True)
class SystemTable:
    """A Dynamics 365 table our solution extends or the integration role reads."""

    logical_name: str
    schema_name: str
    display_name: str
    object_type_code: int
    change_tracking: bool = False  # our solution turns change tracking on (the sync reads deltas)
    # Microsoft's own labels, written back unchanged when our solution changes a table setting.
    plural_name: str = ""
    description: str = ""


# Schema names and type codes as Dynamics 365 Sales defines them (invoice 1090 and invoicedetail
# 1091 per the Sales entity reference; account 1, contact 2, product 1024, systemuser 8).
SYSTEM_TABLES: tuple[SystemTable, ...] = (
    SystemTable(
        "invoice",
        "Invoice",
        "Invoice",
        1090,
        change_tracking=True,
        plural_name="Invoices",
        description="Order that has been billed.",  # the Invoice entity reference's wording
    ),
    SystemTable("invoicedetail", "InvoiceDetail", "Invoice Product", 1091),
    SystemTable("account", "Account", "Account", 1),
    SystemTable("contact", "Contact", "Contact", 2),
    SystemTable("product", "Product", "Product", 1024),
    SystemTable("systemuser", "SystemUser", "User", 8),
    SystemTable("transactioncurrency", "TransactionCurrency", "Currency", 9105),
)


def system_table(logical_name: str) -> SystemTable:
    for t in SYSTEM_TABLES:
        if t.logical_name == logical_name:
            return t
    raise KeyError(logical_name)


class Access(StrEnum):
    READ = "read"
    READ_WRITE = "read-write"


@dataclass(frozen=True)
class TableAccess:
    logical_name: str
    access: Access


INTEGRATION_ROLE_NAME = "d365xero integration"
INTEGRATION_ROLE_DESCRIPTION = (
    "For the application user d365xero signs in as: read-write on invoices, invoice products, "
    "accounts, contacts and the d365xero tables; read on products, users and currencies."
)

# Exactly what the seed's installation guide asks of the connector's Dynamics user.
INTEGRATION_ROLE: tuple[TableAccess, ...] = (
    TableAccess("invoice", Access.READ_WRITE),
    TableAccess("invoicedetail", Access.READ_WRITE),
    TableAccess("product", Access.READ),
    TableAccess("systemuser", Access.READ),
    # Beyond the seed's list: the connector reads the invoice's currency to send its ISO code.
    TableAccess("transactioncurrency", Access.READ),
    TableAccess("account", Access.READ_WRITE),
    TableAccess("contact", Access.READ_WRITE),
    *(TableAccess(t.logical_name, Access.READ_WRITE) for t in TABLES),
)


@dataclass(frozen=True)
class Lookup:
    """One lookup column and the one-to-many relationship behind it."""

    referencing: str  # logical name of the table holding the lookup
    column: Column

    @property
    def referenced(self) -> str:
        return self.column.targets[0]

    @property
    def relationship_name(self) -> str:
        """Named as Microsoft's own solutions name a custom lookup's relationship: prefix,
        referenced table, referencing table, lookup without prefix (e.g.
        `msdyn_invoice_msdyn_actual_Invoice`; ours `dxc_invoice_dxc_xerodetail_InvoiceId`). It is
        also the referenced table's collection-valued navigation property."""
        suffix = self.column.schema_name.removeprefix(PUBLISHER_PREFIX + "_")
        return f"{PUBLISHER_PREFIX}_{self.referenced}_{self.referencing}_{suffix}"


def lookups() -> tuple[Lookup, ...]:
    """Every lookup our solution defines, on our tables and on the system tables we extend."""
    found = [
        Lookup(t.logical_name, c) for t in TABLES for c in t.columns if c.type is ColumnType.LOOKUP
    ]
    found += [
        Lookup(e.logical_name, c)
        for e in EXTENSIONS
        for c in e.columns
        if c.type is ColumnType.LOOKUP
    ]
    return tuple(found)
