"""Pre-flight checks of an invoice against what the Xero organisation accepts, before any write.

Each problem becomes one Sync History message that names the Dynamics field (and the line, by
number and description) and the fix. An invoice with problems is not sent; the rest of the batch
goes on. The rules are Xero's own where Xero documents them (sources inline); the few that are
the connector's own say so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING

from d365xero.domain.mapping import ACCPAY, ACCREC, InvoiceDraft, ItemDraft, LineDraft
from d365xero.domain.records import Customer, Invoice, InvoiceLine, InvoiceType, XeroStatus

if TYPE_CHECKING:  # plain records of Xero's data; no import of the sync layer at run time
    from d365xero.sync.ports import Account, Organisation, ReferenceData, TaxRate

RETRY = "then set Export status to No to retry."
ACTIVE = "ACTIVE"

# Xero's field limits: spec = xero_accounting.yaml maxLength; "quotes doc" =
# developer.xero.com/documentation/api/accounting/quotes ("Elements for LineItems": Description
# max length = 4000), which the emulator enforces for invoices too.
INVOICE_NUMBER_MAX = 255  # spec Invoice.InvoiceNumber
# The spec dropped Reference's 255 in 2.6.1 because Xero's web app takes longer ones
# (github.com/XeroAPI/Xero-OpenAPI/issues/331), but the API documents 255 and the product we
# replace cuts the Dynamics description to 255 "(this is a Xero limitation)" (seed KB).
REFERENCE_MAX = 255
LINE_DESCRIPTION_MAX = 4000
CONTACT_NAME_MAX = 255  # spec Contact.Name
PERSON_NAME_MAX = 255  # spec Contact.FirstName / LastName
EMAIL_MAX = 255  # spec Contact.EmailAddress
PHONE_MAX = 50  # spec Phone.PhoneNumber
ADDRESS_LINE_MAX = 500  # spec Address.AddressLine1..4
CITY_MAX = REGION_MAX = 255  # spec Address.City / Region
POSTAL_CODE_MAX = COUNTRY_MAX = 50  # spec Address.PostalCode / Country
ITEM_CODE_MAX = 30  # spec Item.Code
ITEM_NAME_MAX = 50  # spec Item.Name
ITEM_DESCRIPTION_MAX = 4000  # spec Item.Description
MAX_TRACKING = 2  # spec LineItem.Tracking: "a maximum of 2 <TrackingCategory> elements"

# Xero's account Class -> the TaxRate flag that allows it (spec TaxRate.CanApplyTo*).
CLASS_LABEL = {
    "ASSET": "asset",
    "EQUITY": "equity",
    "EXPENSE": "expense",
    "LIABILITY": "liability",
    "REVENUE": "revenue",
}


@dataclass(frozen=True)
class XeroCatalog:
    """What a pass knows of the Xero organisation, looked up once (numbers once per page)."""

    tax_rates: dict[str, TaxRate]  # by TaxType code, upper-case (Xero matches it so)
    accounts: dict[str, Account]  # by Code
    currencies: frozenset[str]  # enabled, the base currency included
    base_currency: str
    tracking: dict[str, tuple[str, ...]]  # active category name -> its active option names
    archived_contact_names: frozenset[str] = frozenset()  # lower-cased
    # ACCREC numbers Xero already has, as its bulk look-up returned them; matched exactly, since
    # whether Xero's uniqueness ignores case is not documented (Xero refuses it anyway if so).
    used_invoice_numbers: frozenset[str] = frozenset()
    item_codes: frozenset[str] = frozenset()
    _tracking_lower: dict[str, tuple[str, frozenset[str]]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        lowered = {
            name.lower(): (name, frozenset(o.lower() for o in options))
            for name, options in self.tracking.items()
        }
        object.__setattr__(self, "_tracking_lower", lowered)

    def with_invoice_numbers(self, numbers: Iterable[str]) -> XeroCatalog:
        """The same catalog, knowing the invoice numbers a bulk look-up found for this page."""
        return replace(self, used_invoice_numbers=frozenset(numbers))

    def tax_rate(self, code: str) -> TaxRate | None:
        return self.tax_rates.get(code.upper())

    def tracking_category(self, name: str) -> tuple[str, frozenset[str]] | None:
        """(Xero's spelling, lower-cased active options); names match case-insensitively."""
        return self._tracking_lower.get(name.lower())


def build_catalog(
    organisation: Organisation,
    reference: ReferenceData,
    *,
    archived_contact_names: Iterable[str] = (),
    used_invoice_numbers: Iterable[str] = (),
    item_codes: Iterable[str] = (),
) -> XeroCatalog:
    return XeroCatalog(
        tax_rates={r.code.upper(): r for r in reference.tax_rates if r.code},
        accounts={a.code: a for a in reference.accounts if a.code},
        currencies=organisation.currencies | {organisation.base_currency},
        base_currency=organisation.base_currency,
        tracking={c.name: c.options for c in reference.tracking_categories},
        archived_contact_names=frozenset(n.strip().lower() for n in archived_contact_names),
        used_invoice_numbers=frozenset(used_invoice_numbers),
        item_codes=frozenset(item_codes),
    )


# -- what a rule looks at ---------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One line as sent (`draft`) with the Dynamics line it came from (`source`)."""

    number: int  # 1-based, in the invoice's line order
    draft: LineDraft
    source: InvoiceLine | None

    @property
    def label(self) -> str:
        text = _clip(self.draft.description)
        return f'Line {self.number} "{text}"' if text else f"Line {self.number}"

    @property
    def uses_default_account(self) -> bool:
        return self.source is not None and not self.source.account_code


@dataclass(frozen=True)
class Subject:
    invoice: Invoice
    draft: InvoiceDraft
    catalog: XeroCatalog

    @cached_property
    def lines(self) -> list[Line]:
        # mapping.invoice_draft keeps the Dynamics lines in sequence order, one draft line each.
        ordered = sorted(self.invoice.lines, key=lambda ln: ln.sequence)
        sources: list[InvoiceLine | None] = list(ordered)
        if len(sources) != len(self.draft.lines):
            sources = [None] * len(self.draft.lines)
        return [Line(i + 1, d, sources[i]) for i, d in enumerate(self.draft.lines)]

    @cached_property
    def priced_lines(self) -> list[Line]:
        return [ln for ln in self.lines if not ln.draft.is_note]

    @property
    def default_account_setting(self) -> str:
        if self.invoice.invoice_type is InvoiceType.PURCHASE:
            return "Default Xero purchase account"
        return "Default Xero sales account"


Rule = Callable[[Subject], Iterator[str]]


def _clip(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- invoice rules ------------------------------------------------------------------------------


def _has_priced_line(s: Subject) -> Iterator[str]:
    # The connector's rule: Xero's own minimum is one line item of any kind (reference/xero.md
    # §3.2), so an invoice of notes alone would reach Xero as a bill for nothing.
    if s.draft.lines and not s.priced_lines:
        yield (
            "The invoice has only description lines (quantity 0 and price 0), so it bills "
            f"nothing: add a line with a quantity and a price, {RETRY}"
        )


def _currency_enabled(s: Subject) -> Iterator[str]:
    currency = s.draft.currency or s.catalog.base_currency
    if currency not in s.catalog.currencies:
        yield (
            f"The invoice's Currency {currency} is not enabled in the Xero organisation: add it "
            f"in Xero (Settings > Currencies) or change the invoice's Currency, {RETRY}"
        )


def _invoice_number_unused(s: Subject) -> Iterator[str]:
    # Xero: "Invoice # must be unique." for ACCREC; ACCPAY numbers need not be unique
    # (reference/xero.md §3.2). An edit re-sends the number Xero already holds for this invoice.
    number = s.draft.invoice_number
    if not number or s.draft.type != ACCREC or number not in s.catalog.used_invoice_numbers:
        return
    link = s.invoice.xero
    if link is not None and link.xero_invoice_number == number:
        return
    yield (
        f'The Invoice ID "{number}" is already used by another invoice in Xero, and Xero '
        "requires sales invoice numbers to be unique: change the Invoice ID, or set "
        f'"Use Xero invoice number" to Yes in the connection settings, {RETRY}'
    )


def _header_lengths(s: Subject) -> Iterator[str]:
    number, reference = s.draft.invoice_number, s.draft.reference
    if number and len(number) > INVOICE_NUMBER_MAX:
        yield (
            f"The Invoice ID is {len(number)} characters long, more than Xero's "
            f"{INVOICE_NUMBER_MAX}: shorten it, {RETRY}"
        )
    if reference and len(reference) > REFERENCE_MAX:
        yield (
            f"The invoice's Description becomes the Xero Reference, which takes at most "
            f"{REFERENCE_MAX} characters, and it is {len(reference)}: shorten the Description, "
            f"{RETRY}"
        )


# -- line rules -----------------------------------------------------------------------------------


def _prices_computed(s: Subject) -> Iterator[str]:
    # Dynamics' pricing engine sets a product line's pricingerrorcode when it cannot price it
    # (the qooi_pricingerrorcode choices: 0 None, 2 Missing Price Level, 11 Product Not In Price
    # Level, ...: learn.microsoft.com/previous-versions/ms934525, PRICING_ERROR_CODE); its price
    # is then 0, and Xero would bill nothing for the line.
    for line in s.lines:
        source = line.source
        if source is None or not source.pricing_error:
            continue
        product = source.product_name or source.product_number or line.draft.description
        price_list = s.invoice.price_list_name or "(none)"
        why = source.pricing_error_label or f"pricing error {source.pricing_error}"
        yield (
            f'{line.label}: Dynamics could not price the product "{_clip(product)}" from the '
            f'price list "{price_list}" ({why}): add the product to the price list, or pick '
            f"another price list or product, {RETRY}"
        )


def _descriptions(s: Subject) -> Iterator[str]:
    for line in s.lines:
        text = line.draft.description
        if len(text) > LINE_DESCRIPTION_MAX:
            yield (
                f"{line.label}: the description is {len(text)} characters long and Xero takes at "
                f"most {LINE_DESCRIPTION_MAX} on a line: shorten the line's Write-In Product "
                f"(or the product's Name), {RETRY}"
            )
        elif line.draft.is_note and not text.strip():
            # Spec LineItem.Description: a description-only line needs at least 1 character.
            yield (
                f"Line {line.number} has quantity 0, price 0 and no description, which Xero "
                f"refuses: type a note in Write-In Product or delete the line, {RETRY}"
            )


def _tax_types_known(s: Subject) -> Iterator[str]:
    for line in s.priced_lines:
        code = line.draft.tax_type
        if not code:
            continue
        rate = s.catalog.tax_rate(code)
        if rate is None:
            yield (
                f'{line.label}: the Tax type "{code}" does not exist in Xero: pick another Tax '
                "type on the line (synchronise Tax Rates again in the portal if the list is "
                f"out of date), {RETRY}"
            )
        elif rate.status != ACTIVE:
            yield (
                f'{line.label}: the Tax type "{code}" ({rate.name}) is {rate.status.lower()} in '
                f"Xero: pick an active Tax type on the line, or restore the rate in Xero, {RETRY}"
            )


def _account_field(s: Subject, line: Line) -> str:
    if line.uses_default_account:
        return f'the line has no Account code, and the connection\'s "{s.default_account_setting}"'
    return "the line's Account code"


def _account_fix(s: Subject, line: Line) -> str:
    if line.uses_default_account:
        return f'set the line\'s Account code, or change "{s.default_account_setting}"'
    return "pick another Account code on the line"


def _account_codes_known(s: Subject) -> Iterator[str]:
    for line in s.priced_lines:
        code = line.draft.account_code
        if not code:
            continue
        account = s.catalog.accounts.get(code)
        where, fix = _account_field(s, line), _account_fix(s, line)
        if account is None:
            yield (
                f'{line.label}: {where} "{code}" is not an account in Xero: {fix} (synchronise '
                f"Account Codes again in the portal if the list is out of date), {RETRY}"
            )
        elif account.status != ACTIVE:
            yield (
                f'{line.label}: {where} "{code}" ({account.name}) is {account.status.lower()} in '
                f"Xero: {fix}, or restore the account in Xero, {RETRY}"
            )
        elif account.system_account:
            # Xero posts to system accounts itself; invoices may not ("Account code '120' is not
            # a valid code for this document", Xero staff: community.xero.com/developer/
            # discussion/92539695).
            yield (
                f'{line.label}: {where} "{code}" ({account.name}) is a Xero system account, '
                f"which invoice lines cannot use: {fix}, {RETRY}"
            )


def _account_present(s: Subject) -> Iterator[str]:
    # Xero takes a line without an account only on a DRAFT invoice (github.com/XeroAPI/xero-node/
    # issues/398); otherwise "Account code or ID must be specified". An item may supply one.
    if s.draft.status is XeroStatus.DRAFT:
        return
    for line in s.priced_lines:
        d = line.draft
        if d.account_code or d.item_code or not (d.quantity and d.unit_amount):
            continue
        yield (
            f'{line.label}: the line has no Account code and the connection has no "'
            f'{s.default_account_setting}", and Xero needs an account on a '
            f"{s.draft.status.value.lower()} invoice: set the line's Account code or the "
            f"default in the connection settings, {RETRY}"
        )


def _tax_fits_account(s: Subject) -> Iterator[str]:
    # Xero: "The TaxType code 'x' cannot be used with account code 'y'", decided by the rate's
    # CanApplyTo* flag for the account's Class (developer.xero.com/documentation/api/accounting/
    # taxrates, "Tax Rate Constraints").
    for line in s.priced_lines:
        code, account_code = line.draft.tax_type, line.draft.account_code
        if not code or not account_code:
            continue
        rate, account = s.catalog.tax_rate(code), s.catalog.accounts.get(account_code)
        if rate is None or account is None or rate.can_apply_to is None:
            continue
        if not account.account_class or account.account_class in rate.can_apply_to:
            continue
        kind = CLASS_LABEL.get(account.account_class, account.account_class.lower())
        yield (
            f'{line.label}: Xero does not allow the Tax type "{code}" ({rate.name}) on the '
            f'{kind} account "{account_code}" ({account.name}): pick a Tax type meant for '
            f"{kind} accounts, or another Account code, on the line, {RETRY}"
        )


def _discounts(s: Subject) -> Iterator[str]:
    for line in s.priced_lines:
        d = line.draft
        if not d.discount_amount:
            continue
        if s.draft.type == ACCPAY:
            # Spec LineItem.DiscountAmount: "ACCPAY invoices and credit notes in Xero do not
            # support discounts".
            yield (
                f"{line.label}: Xero bills (purchase invoices) take no discounts, and the line "
                f"has a Manual Discount of {d.discount_amount}: remove the discount and lower "
                f"the Price Per Unit instead, {RETRY}"
            )
            continue
        gross = (d.quantity or Decimal(0)) * (d.unit_amount or Decimal(0))
        # Xero: "Discount must not be greater than the line total" (reference/xero.md §5); it
        # refuses any discount on a negative line (github.com/XeroAPI/Xero-OpenAPI/issues/429).
        if d.discount_amount < 0 or d.discount_amount > gross:
            yield (
                f"{line.label}: the Manual Discount {d.discount_amount} is more than the line "
                f"total {gross} (Quantity x Price Per Unit) or below zero, which Xero refuses: "
                f"correct the Manual Discount, {RETRY}"
            )


def _tracking(s: Subject) -> Iterator[str]:
    for line in s.lines:
        yield from _tracking_text(line)
        pairs = line.draft.tracking
        if len(pairs) > MAX_TRACKING:
            yield (
                f"{line.label}: the line names {len(pairs)} tracking categories and Xero takes "
                f"at most {MAX_TRACKING}: keep two, {RETRY}"
            )
        for category, option in pairs:
            yield from _tracking_pair(s.catalog, line, category, option)


def _tracking_text(line: Line) -> Iterator[str]:
    # mapping.parse_tracking drops a value without "Category: Option"; say so rather than lose it.
    if line.source is None:
        return
    for index, value in enumerate(line.source.tracking[:MAX_TRACKING], start=1):
        category, sep, option = value.partition(":")
        if not (sep and category.strip() and option.strip()):
            yield (
                f'{line.label}: Tracking option {index} "{_clip(value)}" is not in the form '
                f'"Category: Option" (for example "Region: North"): correct it, {RETRY}'
            )


def _tracking_pair(catalog: XeroCatalog, line: Line, category: str, option: str) -> Iterator[str]:
    found = catalog.tracking_category(category)
    if found is None:
        active = ", ".join(sorted(catalog.tracking)) or "none"
        yield (
            f'{line.label}: the tracking category "{category}" is not an active tracking '
            f"category in Xero (active: {active}): correct the line's Tracking option, {RETRY}"
        )
        return
    name, options = found
    if option.lower() not in options:
        yield (
            f'{line.label}: "{option}" is not an active option of the Xero tracking category '
            f'"{name}": correct the line\'s Tracking option, or add the option in Xero, {RETRY}'
        )


RULES: tuple[Rule, ...] = (
    _has_priced_line,
    _currency_enabled,
    _invoice_number_unused,
    _header_lengths,
    _prices_computed,
    _descriptions,
    _tax_types_known,
    _account_codes_known,
    _account_present,
    _tax_fits_account,
    _discounts,
    _tracking,
)


def preflight(invoice: Invoice, draft: InvoiceDraft, catalog: XeroCatalog) -> tuple[str, ...]:
    """Every problem Xero would refuse `draft` for (or that the connector will not send)."""
    subject = Subject(invoice, draft, catalog)
    return tuple(message for rule in RULES for message in rule(subject))


# -- contacts and items ---------------------------------------------------------------------------


def _customer_field(customer: Customer) -> str:
    return "Account Name" if customer.kind == "account" else "Full Name"


def contact_problems(customer: Customer, catalog: XeroCatalog) -> tuple[str, ...]:
    """What stops this customer from becoming (or being found as) a Xero contact."""
    problems = []
    name = customer.name.strip()
    record = "account" if customer.kind == "account" else "contact"
    if not name:
        problems.append(
            f"The invoice's customer ({record}) has no {_customer_field(customer)}, and a Xero "
            f"contact needs a name: fill it in, {RETRY}"
        )
    elif name.lower() in catalog.archived_contact_names and not customer.xero_contact_id:
        # Xero refuses invoices for an archived contact ("The contact ... has been archived. The
        # contact must be un-archived before creating new invoices", help-au.re-leased.com), and
        # names are unique among active contacts only, so creating another would duplicate it.
        problems.append(
            f'The Xero contact "{name}" is archived, so Xero will not take invoices for it: '
            f"restore the contact in Xero (Contacts > Archived), or rename the customer's "
            f"{_customer_field(customer)} in Dynamics to create a new contact, {RETRY}"
        )
    problems.extend(_contact_lengths(customer, record))
    return tuple(problems)


def _contact_lengths(customer: Customer, record: str) -> Iterator[str]:
    address = customer.address
    fields = [
        (_customer_field(customer), customer.name.strip(), CONTACT_NAME_MAX),
        ("First Name", customer.first_name, PERSON_NAME_MAX),
        ("Last Name", customer.last_name, PERSON_NAME_MAX),
        ("Email", customer.email, EMAIL_MAX),
        ("Main Phone" if record == "account" else "Business Phone", customer.phone, PHONE_MAX),
    ]
    if address is not None:
        fields += [
            ("Address 1: Street 1", address.line1, ADDRESS_LINE_MAX),
            ("Address 1: Street 2", address.line2, ADDRESS_LINE_MAX),
            ("Address 1: City", address.city, CITY_MAX),
            ("Address 1: State/Province", address.region, REGION_MAX),
            ("Address 1: ZIP/Postal Code", address.postal_code, POSTAL_CODE_MAX),
            ("Address 1: Country/Region", address.country, COUNTRY_MAX),
        ]
    for label, value, limit in fields:
        if value and len(value) > limit:
            yield (
                f"The customer's {label} is {len(value)} characters long and a Xero contact "
                f"takes at most {limit}: shorten it on the {record}, {RETRY}"
            )


def missing_contact_problem(customer: Customer) -> str:
    """For a customer not found in Xero while "Create new contacts" is No."""
    return (
        f'The customer "{customer.name.strip()}" is not a contact in Xero, and the connection '
        'does not create contacts ("Create new contacts" is No): add the contact in Xero with '
        f'exactly this name, or set "Create new contacts" to Yes, {RETRY}'
    )


def item_problems(item: ItemDraft) -> tuple[str, ...]:
    """Why Xero would refuse to create this item (the product's line can still go without it)."""
    problems = []
    if len(item.code) > ITEM_CODE_MAX:
        problems.append(
            f'The product\'s Product ID "{_clip(item.code)}" is {len(item.code)} characters '
            f"long and a Xero item code takes at most {ITEM_CODE_MAX}: shorten the Product ID."
        )
    if len(item.name) > ITEM_NAME_MAX:
        problems.append(
            f'The product\'s Name "{_clip(item.name)}" is longer than a Xero item name '
            f"({ITEM_NAME_MAX} characters): shorten it."
        )
    if item.description and len(item.description) > ITEM_DESCRIPTION_MAX:
        problems.append(
            f"The product's description is {len(item.description)} characters long and a Xero "
            f"item description takes at most {ITEM_DESCRIPTION_MAX}: shorten it."
        )
    return tuple(problems)
