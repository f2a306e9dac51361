"""Which OAuth scopes reach which Accounting API resource.

Both the broad scopes (the spec's `security:` blocks: accounting.transactions,
accounting.contacts, accounting.settings) and the granular scopes Xero introduced in 2026
(developer.xero.com/faq/granular-scopes: accounting.invoices covers Invoices, CreditNotes and
Items; accounting.payments covers Payments, Overpayments and Prepayments;
accounting.banktransactions covers BankTransactions) are honoured. A `.read` scope
allows GET only. A token without a fitting scope gets 401 AuthorizationUnsuccessful, as Xero
answers (github.com/XeroAPI/Xero-NetStandard/issues/178 and /298).
"""

from __future__ import annotations

SETTINGS = ("accounting.settings",)
RESOURCE_SCOPES: dict[str, tuple[str, ...]] = {
    "Invoices": ("accounting.transactions", "accounting.invoices"),
    "CreditNotes": ("accounting.transactions", "accounting.invoices"),
    "Payments": ("accounting.transactions", "accounting.payments"),
    "Overpayments": ("accounting.transactions", "accounting.payments"),
    "Prepayments": ("accounting.transactions", "accounting.payments"),
    # accounting.banktransactions covers BankTransactions (developer.xero.com/faq/granular-scopes)
    "BankTransactions": ("accounting.transactions", "accounting.banktransactions"),
    "Contacts": ("accounting.contacts",),
    "Items": ("accounting.settings", "accounting.invoices"),
    "Organisation": SETTINGS,
    "TaxRates": SETTINGS,
    "Accounts": SETTINGS,
    "BrandingThemes": SETTINGS,
    "Currencies": SETTINGS,
    "TrackingCategories": SETTINGS,
}


def allowed(scopes: frozenset[str], resource: str, method: str) -> bool:
    grants = RESOURCE_SCOPES.get(resource)
    if grants is None:
        return True
    fitting = set(grants)
    if method in ("GET", "HEAD"):
        fitting |= {f"{g}.read" for g in grants}
    return bool(fitting & scopes)


def resource_of(path: str, prefix: str) -> str:
    """`/api.xro/2.0/Invoices/abc/OnlineInvoice` -> `Invoices`."""
    return path[len(prefix) :].strip("/").split("/", 1)[0]
