"""What a new organisation holds (reference data) and the sample data of a Dynamics 365 Sales
trial (`POST /_emulator/seed`): "(sample)" accounts and contacts, a unit group, products with
product numbers, a price list, GBP (base), USD and EUR. Names follow Microsoft's sample data and
the seed guide's screenshots (A. Datum Corporation (sample), CRM Online: Enterprise (sample) at
99.00, price list "CRM Service: USA (sample)", invoice numbers like INV-00074-Q5M5H0)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from d365xero.emulators.dataverse.models import Organisation


ADMIN_USERNAME = "admin@demo-tenant.onmicrosoft.com"
ADMIN_PASSWORD = "demo-password"


def _id(name: str) -> str:
    """Stable ids, so a reset and re-seed give the same records."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"d365xero-sample:{name}"))


def _ref(entity: str, name: str) -> Any:
    from d365xero.emulators.dataverse.models import Ref

    return Ref(entity, _id(f"{entity}:{name}"))


def _create(org: Organisation, entity: str, key: str, values: dict[str, Any]) -> str:
    return org.create(entity, values, record_id=_id(f"{entity}:{key}"))


def load_reference_data(org: Organisation) -> None:
    from d365xero.emulators.dataverse.models import ADMIN_USER_ID

    org.base_currency = _create(
        org,
        "transactioncurrency",
        "GBP",
        {
            "currencyname": "Pound Sterling",
            "isocurrencycode": "GBP",
            "currencysymbol": "£",
            "exchangerate": Decimal(1),
            "currencyprecision": 2,
        },
    )
    # The directory user who signs in on the consent page, and their Dataverse user.
    user = org.entra.add_user(ADMIN_USERNAME, ADMIN_PASSWORD, "Demo Admin", ADMIN_USER_ID)
    org.create(
        "systemuser",
        {
            "firstname": "Demo",
            "lastname": "Admin",
            "domainname": user.username,
            "internalemailaddress": user.username,
            "azureactivedirectoryobjectid": user.oid,
        },
        record_id=ADMIN_USER_ID,
    )
    org.create(
        "systemuser",
        {
            "firstname": "#",
            "lastname": org.entra.default_client_id,
            "domainname": f"{org.entra.default_client_id}@demo-tenant.onmicrosoft.com",
            "azureactivedirectoryobjectid": org.entra.application_user_id,
        },
        record_id=org.entra.application_user_id,
    )
    # Every organisation has the "Default Unit" unit group with its "Primary Unit".
    _create(
        org, "uomschedule", "Default Unit", {"name": "Default Unit", "baseuomname": "Primary Unit"}
    )
    _create(
        org,
        "uom",
        "Primary Unit",
        {
            "name": "Primary Unit",
            "quantity": Decimal(1),
            "uomscheduleid": _ref("uomschedule", "Default Unit"),
        },
    )
    org.tables["uom"][_id("uom:Primary Unit")]["isschedulebaseuom"] = True


ACCOUNTS = [
    ("A. Datum Corporation (sample)", "2137 Birchwood Dr", "Redmond", "WA", "98014", "U.S."),
    ("Adventure Works (sample)", "4567 Main St", "Santa Cruz", "CA", "95060", "U.S."),
    ("Alpine Ski House (sample)", "2145 Main Street", "Missoula", "MT", "59801", "U.S."),
    ("Blue Yonder Airlines (sample)", "5678 1st Avenue", "Los Angeles", "CA", "90001", "U.S."),
    ("City Power & Light (sample)", "3456 Elm Street", "Redmond", "WA", "98052", "U.S."),
    ("Coho Winery (sample)", "7890 Oak Lane", "Phoenix", "AZ", "85001", "U.S."),
    ("Contoso Pharmaceuticals (sample)", "2468 Pine Road", "Redmond", "WA", "98053", "U.S."),
    ("Fabrikam, Inc. (sample)", "1357 Maple Street", "Lynnwood", "WA", "98036", "U.S."),
    ("Fourth Coffee (sample)", "4321 Cedar Way", "Renton", "WA", "98057", "U.S."),
    ("Litware, Inc. (sample)", "8765 Walnut Drive", "Dallas", "TX", "75201", "U.S."),
]

CONTACTS = [
    ("Yvonne", "McKay (sample)", "Fourth Coffee (sample)"),
    ("Susanna", "Stubberod (sample)", "Litware, Inc. (sample)"),
    ("Nancy", "Anderson (sample)", "Adventure Works (sample)"),
    ("Maria", "Campbell (sample)", "Fabrikam, Inc. (sample)"),
    ("Sidney", "Higa (sample)", "Alpine Ski House (sample)"),
    ("Scott", "Konersmann (sample)", "City Power & Light (sample)"),
    ("Robert", "Lyon (sample)", "Coho Winery (sample)"),
    ("Paul", "Cannon (sample)", "Contoso Pharmaceuticals (sample)"),
    ("Rene", "Valdes (sample)", "A. Datum Corporation (sample)"),
    ("Jim", "Glynn (sample)", "Blue Yonder Airlines (sample)"),
]

# (name, product number, GBP price, USD price)
PRODUCTS = [
    ("CRM Online: Enterprise (sample)", "CRMONL-ENT", "99.00", "115.00"),
    ("CRM Online: Professional (sample)", "CRMONL-PRO", "65.00", "75.00"),
    ("CRM Online: Basic (sample)", "CRMONL-BAS", "30.00", "35.00"),
    ("CRM Online: Essential (sample)", "CRMONL-ESS", "10.00", "12.00"),
    ("CRM Service: Implementation day (sample)", "CRMSVC-IMPL", "950.00", "1100.00"),
    ("CRM Service: Training day (sample)", "CRMSVC-TRN", "450.00", "520.00"),
]

PRICE_LISTS = [("CRM Service: USA (sample)", "GBP", 2), ("CRM Service: USD (sample)", "USD", 3)]


def load_sample_data(org: Organisation) -> dict[str, int]:
    if org.find("account", _id("account:A. Datum Corporation (sample)")):
        return _counts(org)
    for iso, name, symbol, rate in (
        ("USD", "US Dollar", "$", "1.27"),
        ("EUR", "Euro", "€", "1.17"),
    ):
        _create(
            org,
            "transactioncurrency",
            iso,
            {
                "currencyname": name,
                "isocurrencycode": iso,
                "currencysymbol": symbol,
                "exchangerate": Decimal(rate),
                "currencyprecision": 2,
            },
        )
    for name, street, city, state, postcode, country in ACCOUNTS:
        _create(
            org,
            "account",
            name,
            {
                "name": name,
                "address1_line1": street,
                "address1_city": city,
                "address1_stateorprovince": state,
                "address1_postalcode": postcode,
                "address1_country": country,
                "telephone1": "555-0100",
                "emailaddress1": "someone@example.com",
            },
        )
    for first, last, account in CONTACTS:
        key = f"{first} {last}"
        email = f"{first.lower()}@example.com"
        _create(
            org,
            "contact",
            key,
            {
                "firstname": first,
                "lastname": last,
                "emailaddress1": email,
                "parentcustomerid": _ref("account", account),
            },
        )
        org.update("account", _id(f"account:{account}"), {"primarycontactid": _ref("contact", key)})
    _products(org)
    _invoices(org)
    return _counts(org)


def _products(org: Organisation) -> None:
    unit, group = _ref("uom", "Primary Unit"), _ref("uomschedule", "Default Unit")
    for name, iso, _ in PRICE_LISTS:
        _create(
            org,
            "pricelevel",
            name,
            {"name": name, "transactioncurrencyid": _ref("transactioncurrency", iso)},
        )
    for row in PRODUCTS:
        name, number = row[0], row[1]
        _create(
            org,
            "product",
            name,
            {
                "name": name,
                "productnumber": number,
                "defaultuomid": unit,
                "defaultuomscheduleid": group,
                "pricelevelid": _ref("pricelevel", PRICE_LISTS[0][0]),
                "price": Decimal(row[2]),
                "quantitydecimal": 2,
            },
        )
        for list_name, iso, column in PRICE_LISTS:
            _create(
                org,
                "productpricelevel",
                f"{list_name}:{number}",
                {
                    "pricelevelid": _ref("pricelevel", list_name),
                    "productid": _ref("product", name),
                    "uomid": unit,
                    "uomscheduleid": group,
                    "amount": Decimal(row[column]),
                    "pricingmethodcode": 1,
                    "transactioncurrencyid": _ref("transactioncurrency", iso),
                },
            )
            item = org.tables["productpricelevel"][_id(f"productpricelevel:{list_name}:{number}")]
            item["productnumber"] = number


# (name, customer, statecode, statuscode, lines as (product or write-in text, quantity, tax))
INVOICES = [
    (
        "Office licences (sample)",
        ("account", "A. Datum Corporation (sample)"),
        0,
        1,
        [("CRM Online: Enterprise (sample)", 2, "39.60"), ("Set-up notes", 0, "0")],
    ),
    (
        "Training invoice (sample)",
        ("account", "Fourth Coffee (sample)"),
        0,
        4,
        [("CRM Service: Training day (sample)", 2, "180.00")],
    ),
    (
        "Implementation, paid (sample)",
        ("account", "Litware, Inc. (sample)"),
        2,
        100001,
        [("CRM Service: Implementation day (sample)", 3, "570.00")],
    ),
    (
        "Licences, part paid (sample)",
        ("contact", "Yvonne McKay (sample)"),
        2,
        100002,
        [("CRM Online: Professional (sample)", 5, "65.00")],
    ),
    (
        "Cancelled order (sample)",
        ("account", "Adventure Works (sample)"),
        3,
        100003,
        [("CRM Online: Basic (sample)", 10, "60.00")],
    ),
]


def _invoices(org: Organisation) -> None:
    """An invoice in each state: Active (New, Billed), Paid (Complete, Partial), Canceled."""
    unit = _ref("uom", "Primary Unit")
    for name, (kind, customer), state, status, lines in INVOICES:
        invoice = _create(
            org,
            "invoice",
            name,
            {
                "name": name,
                "customerid": _ref(kind, customer),
                "pricelevelid": _ref("pricelevel", PRICE_LISTS[0][0]),
                "datedelivered": org.clock.now().date(),
                "description": f"{name}: sample data",
            },
        )
        for n, (what, quantity, tax) in enumerate(lines):
            product = next((p for p in PRODUCTS if p[0] == what), None)
            line: dict[str, Any] = {
                "invoiceid": _ref("invoice", name),
                "quantity": Decimal(quantity),
                "tax": Decimal(tax),
                "sequencenumber": n + 1,
            }
            if product:
                line |= {"productid": _ref("product", what), "uomid": unit}
            else:
                line |= {"isproductoverridden": True, "productdescription": what}
            org.create("invoicedetail", line, record_id=_id(f"invoicedetail:{name}:{n}"))
        # Closing goes through the state model, as SetState does.
        org.update("invoice", invoice, {"statecode": state, "statuscode": status})


def _counts(org: Organisation) -> dict[str, int]:
    return {
        name: len(org.tables[name])
        for name in (
            "account",
            "contact",
            "product",
            "pricelevel",
            "productpricelevel",
            "transactioncurrency",
            "uom",
            "invoice",
        )
    }


def sample_id(entity: str, name: str) -> str:
    """The id the sample data gives a record: sample_id("account", "Fourth Coffee (sample)")."""
    return _id(f"{entity}:{name}")
