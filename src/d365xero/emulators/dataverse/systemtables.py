"""Microsoft's system tables that d365xero touches, with the columns an integration uses, their
real names, types and navigation properties.

Sources: CE:developer/reference/entities/{invoice,invoicedetail,product,productpricelevel,uom}.md
and PAD:reference/entities/{account,contact,systemuser,transactioncurrency}.md (Many-to-One tables:
referencing attribute -> navigation property), reference/dataverse.md §4.
"""

from __future__ import annotations

from d365xero.emulators.dataverse.metadata import (
    Attr,
    Entity,
    Metadata,
    T,
    solution_attr,
    solution_entity,
)
from d365xero.solution import schema

YES_NO = {0: "No", 1: "Yes"}


def _s(name: str, length: int = 100, **kw: object) -> Attr:
    return Attr(name, T.STRING, max_length=length, **kw)  # type: ignore[arg-type]


def _memo(name: str, length: int = 2000) -> Attr:
    return Attr(name, T.MEMO, max_length=length)


def _money(name: str, **kw: object) -> Attr:
    return Attr(name, T.MONEY, precision=2, **kw)  # type: ignore[arg-type]


def _ro(attr: Attr) -> Attr:
    attr.create = attr.update = False
    return attr


def _lookup(
    name: str, target: str, relationship: str, nav: str | None = None, **kw: object
) -> Attr:
    return Attr(name, T.LOOKUP, targets={target: (nav or name, relationship)}, **kw)  # type: ignore[arg-type]


def _state(options: dict[int, str]) -> Attr:
    return Attr("statecode", T.STATE, options=options, create=False)


def _status(options: dict[int, tuple[str, int]]) -> Attr:
    return Attr(
        "statuscode",
        T.STATUS,
        options={v: label for v, (label, _) in options.items()},
        status_state={v: state for v, (_, state) in options.items()},
    )


def _common(entity: Entity, owned: bool = True) -> None:
    """Columns every table has (created/modified, version, owner) and a currency where money is."""
    name = entity.logical_name
    entity.add(
        _ro(Attr("createdon", T.DATETIME)),
        _ro(Attr("modifiedon", T.DATETIME)),
        _ro(Attr("versionnumber", T.BIGINT)),
        _ro(_lookup("createdby", "systemuser", f"lk_{name}base_createdby")),
        _ro(_lookup("modifiedby", "systemuser", f"lk_{name}base_modifiedby")),
    )
    if owned:
        entity.add(
            Attr(
                "ownerid",
                T.OWNER,
                targets={"systemuser": ("ownerid", f"owner_{name}s")},
            )
        )
    has_money = any(a.type is T.MONEY for a in entity.attributes.values())
    if has_money and "transactioncurrencyid" not in entity.attributes:
        entity.add(
            _lookup("transactioncurrencyid", "transactioncurrency", f"transactioncurrency_{name}"),
            _ro(Attr("exchangerate", T.DECIMAL, precision=10)),
        )


def _entity(
    logical: str,
    schema_name: str,
    entity_set: str,
    primary_name: str,
    display: tuple[str, str],
    code: int,
    *attrs: Attr,
    owned: bool = True,
) -> Entity:
    entity = Entity(
        logical_name=logical,
        schema_name=schema_name,
        entity_set=entity_set,
        primary_id=f"{logical}id",
        primary_name=primary_name,
        display_name=display[0],
        display_collection_name=display[1],
        object_type_code=code,
        ownership="UserOwned" if owned else "OrganizationOwned",
    )
    entity.add(Attr(f"{logical}id", T.UNIQUEID, schema_name=f"{schema_name}Id", update=False))
    entity.add(*attrs)
    _common(entity, owned)
    return entity


def _active_inactive() -> tuple[Attr, Attr]:
    """statecode Active/Inactive and its statuscode, as most tables have them."""
    return _state({0: "Active", 1: "Inactive"}), _status({1: ("Active", 0), 2: ("Inactive", 1)})


_ADDRESS_PARTS = (
    ("line1", 250),
    ("line2", 250),
    ("line3", 250),
    ("city", 80),
    ("stateorprovince", 50),
    ("postalcode", 20),
    ("country", 80),
)


def _address(prefix: str) -> tuple[Attr, ...]:
    return tuple(_s(f"{prefix}_{part}", length) for part, length in _ADDRESS_PARTS)


def account() -> Entity:
    return _entity(
        "account",
        "Account",
        "accounts",
        "name",
        ("Account", "Accounts"),
        1,
        _s("name", 160),
        _s("accountnumber", 20),
        _s("emailaddress1", 100),
        _s("telephone1", 50),
        _s("websiteurl", 200),
        _memo("description"),
        *_address("address1"),
        _ro(_s("address1_composite", 1000)),
        _money("revenue"),
        Attr("numberofemployees", T.INT),
        _lookup("primarycontactid", "contact", "account_primary_contact"),
        _lookup("parentaccountid", "account", "account_parent_account"),
        *_active_inactive(),
    )


def contact() -> Entity:
    return _entity(
        "contact",
        "Contact",
        "contacts",
        "fullname",
        ("Contact", "Contacts"),
        2,
        _s("firstname", 50),
        _s("lastname", 50),
        _ro(_s("fullname", 160)),
        _s("jobtitle", 100),
        _s("emailaddress1", 100),
        _s("telephone1", 50),
        _s("mobilephone", 50),
        *_address("address1"),
        _ro(_s("address1_composite", 1000)),
        Attr(
            "parentcustomerid",
            T.CUSTOMER,
            targets={
                "account": ("parentcustomerid_account", "contact_customer_accounts"),
                "contact": ("parentcustomerid_contact", "contact_customer_contacts"),
            },
        ),
        *_active_inactive(),
    )


def systemuser() -> Entity:
    return _entity(
        "systemuser",
        "SystemUser",
        "systemusers",
        "fullname",
        ("User", "Users"),
        8,
        _s("firstname", 64),
        _s("lastname", 64),
        _ro(_s("fullname", 200)),
        _s("domainname", 1024),
        _s("internalemailaddress", 100),
        Attr("azureactivedirectoryobjectid", T.UNIQUEID),
        Attr("applicationid", T.UNIQUEID),
        Attr("isdisabled", T.BOOL, options={0: "Enabled", 1: "Disabled"}),
        owned=False,
    )


def transactioncurrency() -> Entity:
    return _entity(
        "transactioncurrency",
        "TransactionCurrency",
        "transactioncurrencies",
        "currencyname",
        ("Currency", "Currencies"),
        9105,
        _s("currencyname", 100),
        _s("isocurrencycode", 5, required=True),
        _s("currencysymbol", 13),
        Attr("exchangerate", T.DECIMAL, precision=10),
        Attr("currencyprecision", T.INT),
        *_active_inactive(),
        owned=False,
    )


def uomschedule() -> Entity:
    return _entity(
        "uomschedule",
        "UoMSchedule",
        "uomschedules",
        "name",
        ("Unit Group", "Unit Groups"),
        1056,
        _s("name", 200),
        _s("baseuomname", 100),
        _memo("description"),
        *_active_inactive(),
        owned=False,
    )


def uom() -> Entity:
    return _entity(
        "uom",
        "UoM",
        "uoms",
        "name",
        ("Unit", "Units"),
        1055,
        _s("name", 100),
        Attr("quantity", T.DECIMAL, precision=5),
        _ro(Attr("isschedulebaseuom", T.BOOL, options=YES_NO)),
        _lookup("uomscheduleid", "uomschedule", "unit_of_measure_schedule_conversions"),
        _lookup("baseuom", "uom", "unit_of_measurement_base_unit"),
        owned=False,
    )


def product() -> Entity:
    return _entity(
        "product",
        "Product",
        "products",
        "name",
        ("Product", "Products"),
        1024,
        _s("name", 100),
        _s("productnumber", 100, required=True),
        _memo("description"),
        _money("price"),
        _money("standardcost"),
        _money("currentcost"),
        Attr("quantitydecimal", T.INT),
        Attr(
            "producttypecode",
            T.PICKLIST,
            options={
                1: "Sales Inventory",
                2: "Miscellaneous Charges",
                3: "Services",
                4: "Flat Fees",
            },
        ),
        _lookup("defaultuomid", "uom", "unit_of_measurement_products"),
        _lookup("defaultuomscheduleid", "uomschedule", "unit_of_measurement_schedule_products"),
        _lookup("pricelevelid", "pricelevel", "price_level_products"),
        # Product lifecycle: new products start as Draft (CE:sales/developer/entities/product.md).
        _state({0: "Active", 1: "Retired", 2: "Draft", 3: "Under Revision"}),
        _status({1: ("Active", 0), 2: ("Retired", 1), 0: ("Draft", 2), 3: ("Under Revision", 3)}),
        owned=False,
    )


def pricelevel() -> Entity:
    return _entity(
        "pricelevel",
        "PriceLevel",
        "pricelevels",
        "name",
        ("Price List", "Price Lists"),
        1022,
        _s("name", 100),
        _memo("description"),
        Attr("begindate", T.DATETIME),
        Attr("enddate", T.DATETIME),
        _lookup("transactioncurrencyid", "transactioncurrency", "transactioncurrency_pricelevel"),
        _state({0: "Active", 1: "Inactive"}),
        _status({100001: ("Active", 0), 100002: ("Inactive", 1)}),
        owned=False,
    )


def productpricelevel() -> Entity:
    return _entity(
        "productpricelevel",
        "ProductPriceLevel",
        "productpricelevels",
        "productnumber",
        ("Price List Item", "Price List Items"),
        1026,
        _money("amount"),
        Attr("percentage", T.DECIMAL, precision=2),
        _ro(_s("productnumber", 100)),
        Attr(
            "pricingmethodcode",
            T.PICKLIST,
            options={
                1: "Currency Amount",
                2: "Percent of List",
                3: "Percent Markup - Current Cost",
                4: "Percent Margin - Current Cost",
                5: "Percent Markup - Standard Cost",
                6: "Percent Margin - Standard Cost",
            },
        ),
        Attr(
            "quantitysellingcode",
            T.PICKLIST,
            options={1: "No Control", 2: "Whole", 3: "Whole and Fractional"},
        ),
        _lookup("pricelevelid", "pricelevel", "price_level_product_price_levels", required=True),
        _lookup("productid", "product", "product_price_levels", required=True),
        _lookup("uomid", "uom", "unit_of_measurement_product_price_levels", required=True),
        _lookup("uomscheduleid", "uomschedule", "unit_of_measure_schedule_product_price_level"),
        _lookup(
            "transactioncurrencyid", "transactioncurrency", "transactioncurrency_productpricelevel"
        ),
        owned=False,
    )


INVOICE_STATES = {0: "Active", 1: "Closed (deprecated)", 2: "Paid", 3: "Canceled"}
INVOICE_STATUSES = {
    1: ("New", 0),
    2: ("Partially Shipped", 0),
    4: ("Billed", 0),
    5: ("Booked (applies to services)", 0),
    6: ("Installed (applies to services)", 0),
    3: ("Canceled (deprecated)", 1),
    7: ("Paid in Full (deprecated)", 1),
    100001: ("Complete", 2),
    100002: ("Partial", 2),
    100003: ("Canceled", 3),
}


def invoice() -> Entity:
    return _entity(
        "invoice",
        "Invoice",
        "invoices",
        "name",
        ("Invoice", "Invoices"),
        1090,
        _s("name", 300),
        # SystemRequired and not updatable; generated when not given.
        Attr("invoicenumber", T.STRING, max_length=100, update=False),
        _memo("description"),
        Attr("datedelivered", T.DATEONLY),
        Attr("duedate", T.DATEONLY),
        _lookup("pricelevelid", "pricelevel", "price_level_invoices"),
        _lookup(
            "transactioncurrencyid",
            "transactioncurrency",
            "transactioncurrency_invoice",
            update=False,
        ),
        Attr(
            "customerid",
            T.CUSTOMER,
            targets={
                "account": ("customerid_account", "invoice_customer_accounts"),
                "contact": ("customerid_contact", "invoice_customer_contacts"),
            },
        ),
        _ro(_money("totalamount")),
        _ro(_money("totaltax")),
        _ro(_money("totallineitemamount")),
        _ro(_money("totalamountlessfreight")),
        _ro(_money("totaldiscountamount")),
        _ro(_money("totallineitemdiscountamount")),
        _money("discountamount"),
        Attr("discountpercentage", T.DECIMAL, precision=2),
        _money("freightamount"),
        Attr("ispricelocked", T.BOOL, options=YES_NO, create=False),
        Attr(
            "paymenttermscode",
            T.PICKLIST,
            options={1: "Net 30", 2: "2% 10, Net 30", 3: "Net 45", 4: "Net 60"},
        ),
        Attr(
            "pricingerrorcode",
            T.PICKLIST,
            options=PRICING_ERRORS,
        ),
        _s("billto_name", 200),
        *_address("billto"),
        _s("emailaddress", 100),
        Attr("statecode", T.STATE, options=INVOICE_STATES, create=False),
        _status(INVOICE_STATUSES),
    )


# Pricing error codes (pricingerrorcode), every option Dynamics defines (CE invoicedetail.md,
# PricingErrorCode Choices/Options; the label of 32 ends in a space there too). sales.py sets
# 0, 1, 2, 3, 4 and 11.
PRICING_ERRORS = {
    0: "None",
    1: "Detail Error",
    2: "Missing Price Level",
    3: "Inactive Price Level",
    4: "Missing Quantity",
    5: "Missing Unit Price",
    6: "Missing Product",
    7: "Invalid Product",
    8: "Missing Pricing Code",
    9: "Invalid Pricing Code",
    10: "Missing UOM",
    11: "Product Not In Price Level",
    12: "Missing Price Level Amount",
    13: "Missing Price Level Percentage",
    14: "Missing Price",
    15: "Missing Current Cost",
    16: "Missing Standard Cost",
    17: "Invalid Price Level Amount",
    18: "Invalid Price Level Percentage",
    19: "Invalid Price",
    20: "Invalid Current Cost",
    21: "Invalid Standard Cost",
    22: "Invalid Rounding Policy",
    23: "Invalid Rounding Option",
    24: "Invalid Rounding Amount",
    25: "Price Calculation Error",
    26: "Invalid Discount Type",
    27: "Discount Type Invalid State",
    28: "Invalid Discount",
    29: "Invalid Quantity",
    30: "Invalid Pricing Precision",
    31: "Missing Product Default UOM",
    32: "Missing Product UOM Schedule ",
    33: "Inactive Discount Type",
    34: "Invalid Price Level Currency",
    35: "Price Attribute Out Of Range",
    36: "Base Currency Attribute Overflow",
    37: "Base Currency Attribute Underflow",
}


def invoicedetail() -> Entity:
    return _entity(
        "invoicedetail",
        "InvoiceDetail",
        "invoicedetails",
        "invoicedetailname",
        ("Invoice Product", "Invoice Products"),
        1091,
        _s("invoicedetailname", 500),
        _lookup("invoiceid", "invoice", "invoice_details", required=True, update=False),
        _lookup("productid", "product", "product_invoice_details"),
        _lookup("uomid", "uom", "unit_of_measurement_invoice_details"),
        Attr("isproductoverridden", T.BOOL, options={0: "Existing", 1: "Write In"}, update=False),
        _memo("productdescription", 4000),
        Attr("quantity", T.DECIMAL, precision=5),
        _money("priceperunit"),
        Attr("ispriceoverridden", T.BOOL, options={0: "Use Default", 1: "Override Price"}),
        _ro(_money("baseamount")),
        _ro(_money("extendedamount")),
        _money("manualdiscountamount"),
        _ro(_money("volumediscountamount")),
        _money("tax"),
        Attr("lineitemnumber", T.INT),
        Attr("sequencenumber", T.INT),
        _ro(_s("productnumber", 100)),
        Attr("pricingerrorcode", T.PICKLIST, options=PRICING_ERRORS, create=False, update=False),
        _ro(Attr("invoicestatecode", T.PICKLIST, options=INVOICE_STATES)),
        _lookup(
            "transactioncurrencyid",
            "transactioncurrency",
            "transactioncurrency_invoicedetail",
            update=False,
        ),
    )


# --- webhook registration (PAD:reference/entities/serviceendpoint.md, sdkmessage*.md,
# asyncoperation.md; PAD:register-web-hook.md) ----------------------------------------------------

CONTRACTS = {
    1: "OneWay",
    2: "Queue",
    3: "Rest",
    4: "TwoWay",
    5: "Topic",
    6: "Queue (Persistent)",
    7: "Event Hub",
    8: "Webhook",
    9: "Event Grid",
    10: "Managed Data Lake",
}
AUTH_TYPES = {
    1: "ACS",
    2: "SAS Key",
    3: "SAS Token",
    4: "Webhook Key",
    5: "Http Header",
    6: "Http Query String",
    7: "Connection String",
    8: "Access Key",
}


def serviceendpoint() -> Entity:
    return _entity(
        "serviceendpoint",
        "ServiceEndpoint",
        "serviceendpoints",
        "name",
        ("Service Endpoint", "Service Endpoints"),
        4618,
        _s("name", 256),
        _memo("description"),
        Attr("contract", T.PICKLIST, options=CONTRACTS),
        _s("url", 2000),
        Attr("authtype", T.PICKLIST, options=AUTH_TYPES),
        # Write-only: Dataverse never returns it (reads give null).
        Attr("authvalue", T.STRING, max_length=2048, readable=False),
        Attr("messageformat", T.PICKLIST, options={1: "Binary XML", 2: "Json", 3: "Text XML"}),
        Attr("userclaim", T.PICKLIST, options={1: "None", 2: "UserId", 3: "UserInfo"}),
        Attr("connectionmode", T.PICKLIST, options={1: "Normal", 2: "Federated"}),
        owned=False,
    )


def sdkmessage() -> Entity:
    return _entity(
        "sdkmessage",
        "SdkMessage",
        "sdkmessages",
        "name",
        ("Sdk Message", "Sdk Messages"),
        4606,
        _s("name", 256),
        owned=False,
    )


def sdkmessagefilter() -> Entity:
    return _entity(
        "sdkmessagefilter",
        "SdkMessageFilter",
        "sdkmessagefilters",
        "name",
        ("Sdk Message Filter", "Sdk Message Filters"),
        4607,
        _s("name", 256),
        _s("primaryobjecttypecode", 100),
        _s("secondaryobjecttypecode", 100),
        _lookup("sdkmessageid", "sdkmessage", "sdkmessageid_sdkmessagefilter"),
        owned=False,
    )


def sdkmessageprocessingstep() -> Entity:
    return _entity(
        "sdkmessageprocessingstep",
        "SdkMessageProcessingStep",
        "sdkmessageprocessingsteps",
        "name",
        ("Sdk Message Processing Step", "Sdk Message Processing Steps"),
        4608,
        _s("name", 256),
        _memo("description", 256),
        _lookup(
            "eventhandler",
            "serviceendpoint",
            "serviceendpoint_sdkmessageprocessingstep",
            "eventhandler_serviceendpoint",
        ),
        _lookup("sdkmessageid", "sdkmessage", "sdkmessageid_sdkmessageprocessingstep"),
        _lookup(
            "sdkmessagefilterid", "sdkmessagefilter", "sdkmessagefilterid_sdkmessageprocessingstep"
        ),
        Attr("mode", T.PICKLIST, options={0: "Synchronous", 1: "Asynchronous"}),
        Attr(
            "stage",
            T.PICKLIST,
            options={10: "Pre-validation", 20: "Pre-operation", 40: "Post-operation"},
        ),
        Attr("rank", T.INT),
        _s("filteringattributes", 100000),
        Attr("asyncautodelete", T.BOOL, options=YES_NO),
        Attr(
            "supporteddeployment",
            T.PICKLIST,
            options={
                0: "Server Only",
                1: "Microsoft Dynamics 365 Client for Outlook Only",
                2: "Both",
            },
        ),
        Attr("invocationsource", T.PICKLIST, options={-1: "Internal", 0: "Parent", 1: "Child"}),
        _state({0: "Enabled", 1: "Disabled"}),
        _status({1: ("Enabled", 0), 2: ("Disabled", 1)}),
    )


def asyncoperation() -> Entity:
    return _entity(
        "asyncoperation",
        "AsyncOperation",
        "asyncoperations",
        "name",
        ("System Job", "System Jobs"),
        4700,
        _s("name", 256),
        _s("messagename", 160),
        _memo("message", 1073741823),
        _memo("friendlymessage", 1073741823),
        Attr("operationtype", T.PICKLIST, options={1: "System Event"}),
        Attr("errorcode", T.INT),
        Attr("completedon", T.DATETIME),
        _lookup(
            "owningextensionid",
            "sdkmessageprocessingstep",
            "SdkMessageProcessingStep_AsyncOperations",
            "owningextensionid_sdkmessageprocessingstep",
        ),
        _state({0: "Ready", 1: "Suspended", 2: "Locked", 3: "Completed"}),
        _status(
            {
                0: ("Waiting For Resources", 0),
                10: ("Waiting", 1),
                20: ("In Progress", 2),
                30: ("Succeeded", 3),
                31: ("Failed", 3),
                32: ("Canceled", 3),
            }
        ),
    )


SYSTEM_TABLES = (
    account,
    contact,
    systemuser,
    transactioncurrency,
    uomschedule,
    uom,
    product,
    pricelevel,
    productpricelevel,
    invoice,
    invoicedetail,
    serviceendpoint,
    sdkmessage,
    sdkmessagefilter,
    sdkmessageprocessingstep,
    asyncoperation,
)

# Registration tables are not change-tracked.
UNTRACKED = {
    "serviceendpoint",
    "sdkmessage",
    "sdkmessagefilter",
    "sdkmessageprocessingstep",
    "asyncoperation",
}


def solution_table(table: schema.Table, code: int) -> Entity:
    """A table of the solution as Dataverse makes it on import: its columns, Active/Inactive,
    owner and audit columns."""
    entity = solution_entity(table, code)
    entity.add(*_active_inactive())
    _common(entity)
    return entity


def _add_solution(metadata: Metadata) -> None:
    for n, table in enumerate(schema.TABLES):
        metadata.add(solution_table(table, 10000 + n))
    for extension in schema.EXTENSIONS:
        entity = metadata.get(extension.logical_name)
        for column in extension.columns:
            entity.add(solution_attr(extension.logical_name, column))
        _common(entity)


def build_metadata(*, with_solution: bool = True) -> Metadata:
    metadata = Metadata()
    for make in SYSTEM_TABLES:
        entity = make()
        entity.change_tracking = entity.logical_name not in UNTRACKED
        metadata.add(entity)
    if with_solution:
        _add_solution(metadata)
    metadata.link()
    return metadata
