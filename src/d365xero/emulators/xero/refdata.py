"""Reference data of the emulated organisation "Demo Company (UK)": tax rates, chart of accounts,
branding themes, currencies, and the sample data `seed()` adds.

Names and codes are Xero's UK ones (reference/xero.md §4; help.xero.com/uk/Tax-SetDefaults).
Ids are uuid5 of a fixed namespace, so they are the same on every start and in every test.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

NAMESPACE = uuid.UUID("5c1c4d8e-4f0b-4d35-9a55-6e0d6a3b7a10")


def fixed_id(kind: str, key: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{key}"))


TENANT_ID = fixed_id("tenant", "Demo Company (UK)")
CONNECTION_ID = fixed_id("connection", "Demo Company (UK)")
SECOND_TENANT_ID = fixed_id("tenant", "Demo Company (Second)")
ORGANISATION_NAME = "Demo Company (UK)"
SHORT_CODE = "!aB1cD"

# (TaxType, Name, rate, ReportTaxType, applies to revenue, applies to expenses)
_UK_TAX_RATES: list[tuple[str, str, str, str, bool, bool]] = [
    ("OUTPUT2", "20% (VAT on Income)", "20", "OUTPUT", True, False),
    ("INPUT2", "20% (VAT on Expenses)", "20", "INPUT", False, True),
    ("RROUTPUT", "5% (VAT on Income)", "5", "OUTPUT", True, False),
    ("RRINPUT", "5% (VAT on Expenses)", "5", "INPUT", False, True),
    ("ZERORATEDOUTPUT", "Zero Rated Income", "0", "OUTPUT", True, False),
    ("ZERORATEDINPUT", "Zero Rated Expenses", "0", "INPUT", False, True),
    ("EXEMPTOUTPUT", "Exempt Income", "0", "EXEMPTOUTPUT", True, False),
    ("EXEMPTINPUT", "Exempt Expenses", "0", "EXEMPTINPUT", False, True),
    ("NONE", "No VAT", "0", "NONE", True, True),
]


def tax_rates() -> list[dict[str, Any]]:
    rates = []
    for code, name, rate, report, revenue, expenses in _UK_TAX_RATES:
        value = Decimal(rate)
        rates.append(
            {
                "Name": name,
                "TaxType": code,
                "ReportTaxType": report,
                "CanApplyToAssets": True,
                "CanApplyToEquity": True,
                "CanApplyToExpenses": expenses,
                "CanApplyToLiabilities": True,
                "CanApplyToRevenue": revenue,
                "DisplayTaxRate": value,
                "EffectiveRate": value,
                "Status": "ACTIVE",
                "TaxComponents": [
                    {"Name": "VAT", "Rate": value, "IsCompound": False, "IsNonRecoverable": False}
                ],
            }
        )
    return rates


# (Code, Name, Type, Class, TaxType, SystemAccount, extra)
_UK_ACCOUNTS: list[tuple[str, str, str, str, str, str, dict[str, Any]]] = [
    (
        "090",
        "Business Bank Account",
        "BANK",
        "ASSET",
        "NONE",
        "",
        {"BankAccountNumber": "12345678", "BankAccountType": "BANK", "CurrencyCode": "GBP"},
    ),
    (
        "091",
        "Business Savings Account",
        "BANK",
        "ASSET",
        "NONE",
        "",
        {"BankAccountNumber": "87654321", "BankAccountType": "BANK", "CurrencyCode": "GBP"},
    ),
    ("200", "Sales", "REVENUE", "REVENUE", "OUTPUT2", "", {}),
    ("260", "Other Revenue", "REVENUE", "REVENUE", "OUTPUT2", "", {}),
    ("270", "Interest Income", "REVENUE", "REVENUE", "NONE", "", {}),
    ("310", "Cost of Goods Sold", "DIRECTCOSTS", "EXPENSE", "INPUT2", "", {}),
    ("400", "Advertising", "OVERHEADS", "EXPENSE", "INPUT2", "", {}),
    ("429", "General Expenses", "OVERHEADS", "EXPENSE", "INPUT2", "", {}),
    ("610", "Accounts Receivable", "CURRENT", "ASSET", "NONE", "DEBTORS", {}),
    ("630", "Inventory", "INVENTORY", "ASSET", "NONE", "", {}),
    ("800", "Accounts Payable", "CURRLIAB", "LIABILITY", "NONE", "CREDITORS", {}),
    ("820", "VAT", "CURRLIAB", "LIABILITY", "NONE", "GST", {}),
    ("860", "Rounding", "CURRLIAB", "LIABILITY", "NONE", "ROUNDING", {}),
]


def accounts() -> list[dict[str, Any]]:
    result = []
    for code, name, type_, class_, tax, system, extra in _UK_ACCOUNTS:
        account: dict[str, Any] = {
            "AccountID": fixed_id("account", code),
            "Code": code,
            "Name": name,
            "Status": "ACTIVE",
            "Type": type_,
            "TaxType": tax,
            "Class": class_,
            "EnablePaymentsToAccount": False,
            "ShowInExpenseClaims": class_ == "EXPENSE",
            "ReportingCode": "",
            "ReportingCodeName": "",
            "HasAttachments": False,
            "AddToWatchlist": False,
        }
        if system:
            account["SystemAccount"] = system
        account.update(extra)
        result.append(account)
    return result


def branding_themes(seeded: bool) -> list[dict[str, Any]]:
    themes = [("Standard", 0)]
    if seeded:
        # The Xero demo company's second theme (help.xero.com "Very orange invoice!").
        themes.append(("Very orange invoice!", 1))
    return [
        {
            "BrandingThemeID": fixed_id("theme", name),
            "Name": name,
            "Type": "INVOICE",
            "SortOrder": order,
        }
        for name, order in themes
    ]


def currencies(seeded: bool) -> list[dict[str, str]]:
    result = [{"Code": "GBP", "Description": "British Pound"}]
    if seeded:
        result += [
            {"Code": "USD", "Description": "United States Dollar"},
            {"Code": "EUR", "Description": "Euro"},
        ]
    return result


# (category, options): tracking categories of the demo organisation.
_TRACKING = [("Region", ("Eastside", "North", "South", "West Coast"))]


def tracking_categories() -> list[dict[str, Any]]:
    result = []
    for name, options in _TRACKING:
        category_id = fixed_id("tracking", name)
        result.append(
            {
                "TrackingCategoryID": category_id,
                "Name": name,
                "Status": "ACTIVE",
                "Options": [
                    {
                        "TrackingOptionID": fixed_id("tracking-option", f"{name}/{option}"),
                        "Name": option,
                        "Status": "ACTIVE",
                        "TrackingCategoryID": category_id,
                    }
                    for option in options
                ],
            }
        )
    return result


# Indicative day rates for foreign-currency invoices when CurrencyRate is omitted (Xero uses
# XE.com's rate of the day; a fixed table keeps the emulator deterministic).
CURRENCY_RATES = {"GBP": Decimal("1"), "USD": Decimal("1.270000"), "EUR": Decimal("1.170000")}


def organisation(tenant_id: str, name: str, short_code: str) -> dict[str, Any]:
    return {
        "OrganisationID": tenant_id,
        "APIKey": "",
        "Name": name,
        "LegalName": name,
        "PaysTax": True,
        "Version": "UK",
        "OrganisationType": "COMPANY",
        "BaseCurrency": "GBP",
        "CountryCode": "GB",
        "IsDemoCompany": True,
        "OrganisationStatus": "ACTIVE",
        "TaxNumber": "GB123456789",
        "FinancialYearEndDay": 31,
        "FinancialYearEndMonth": 3,
        "SalesTaxBasis": "ACCRUALS",
        "SalesTaxPeriod": "QUARTERLY1",
        "DefaultSalesTax": "Tax Exclusive",
        "DefaultPurchasesTax": "Tax Exclusive",
        "Timezone": "GMTSTANDARDTIME",
        "OrganisationEntityType": "COMPANY",
        "ShortCode": short_code,
        "Class": "DEMO",
        "Edition": "BUSINESS",
        "LineOfBusiness": "Professional services",
        "Addresses": [
            {
                "AddressType": "POBOX",
                "AddressLine1": "23 Main Street",
                "City": "Oxford",
                "PostalCode": "OX1 1AA",
                "Country": "United Kingdom",
            }
        ],
        "Phones": [],
        "ExternalLinks": [],
        "PaymentTerms": {"Sales": {"Day": 20, "Type": "OFFOLLOWINGMONTH"}},
    }


# Sample data for seed(): a few items and contacts like the Demo Company has.
SEED_ITEMS: list[dict[str, Any]] = [
    {
        "Code": "DevD",
        "Name": "Development work - developer onsite per day",
        "Description": "Development work - developer onsite per day",
        "SalesDetails": {"UnitPrice": "500.00", "AccountCode": "200", "TaxType": "OUTPUT2"},
        "PurchaseDetails": {"UnitPrice": "300.00", "AccountCode": "310", "TaxType": "INPUT2"},
    },
    {
        "Code": "BOOK",
        "Name": "Fish out of Water: Finding Your Brand",
        "Description": "Fish out of Water: Finding Your Brand",
        "SalesDetails": {"UnitPrice": "19.95", "AccountCode": "200", "TaxType": "ZERORATEDOUTPUT"},
        "PurchaseDetails": {"UnitPrice": "12.00", "AccountCode": "310", "TaxType": "INPUT2"},
    },
    {
        "Code": "GB1-White",
        "Name": "Golf balls - white single",
        "Description": "Golf balls - white single. Pack of 1",
        "SalesDetails": {"UnitPrice": "5.00", "AccountCode": "200", "TaxType": "OUTPUT2"},
        "PurchaseDetails": {"UnitPrice": "2.50", "AccountCode": "310", "TaxType": "INPUT2"},
    },
]

SEED_CONTACTS: list[dict[str, Any]] = [
    {
        "Name": "Bayside Club",
        "EmailAddress": "secretarybob@bayside.example",
        "FirstName": "Bob",
        "LastName": "Partridge",
    },
    {"Name": "Ridgeway University", "EmailAddress": "accounts@ridgeway.example"},
    {"Name": "PowerDirect", "EmailAddress": "bills@powerdirect.example"},
]

# (contact, type, status, lines as (description, qty, unit, account, tax))
SEED_INVOICES: list[tuple[str, str, str, list[tuple[str, str, str, str, str]]]] = [
    (
        "Bayside Club",
        "ACCREC",
        "AUTHORISED",
        [("Annual membership sponsorship", "1", "1200.00", "200", "OUTPUT2")],
    ),
    (
        "Ridgeway University",
        "ACCREC",
        "DRAFT",
        [("Consulting - workshop day", "2", "500.00", "200", "OUTPUT2")],
    ),
    (
        "PowerDirect",
        "ACCPAY",
        "AUTHORISED",
        [("Electricity - quarter", "1", "240.00", "429", "INPUT2")],
    ),
]
