"""The customer's own field mappings (dxc_setting.dxc_fieldmappings): further Dynamics columns
copied into Xero fields, declared as JSON, for example

    [{"from": "invoice.customerpurchaseordernumber", "to": "Reference"},
     {"from": "line.dxc_region", "to": "LineItem.Tracking.Region"},
     {"from": "account.accountnumber", "to": "Contact.AccountNumber"}]

A mapping is checked as a whole against the Dynamics columns before a pass uses it; a bad one is
refused with a message naming the entry, the column and why.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

# Where a value may come from: the invoice, its lines, or the customer (account or contact).
SOURCES = {
    "invoice": ("invoice", "Invoice"),
    "line": ("invoicedetail", "Invoice Product"),
    "account": ("account", "Account"),
    "contact": ("contact", "Contact"),
}
# Xero fields a mapping may fill, and which sources may fill them.
TARGETS = {
    "Reference": ("invoice",),
    "LineItem.Description": ("line",),
    "Contact.AccountNumber": ("account", "contact"),
    "Contact.TaxNumber": ("account", "contact"),
    "Contact.EmailAddress": ("account", "contact"),
    "Contact.FirstName": ("contact",),
    "Contact.LastName": ("contact",),
}
TRACKING = "LineItem.Tracking."  # + the Xero tracking category's name; from a line
LOOKUP_TYPES = {"Lookup", "Customer", "Owner", "PartyList"}


class MappingRefused(ValueError):
    """The field mappings cannot be used; `str(exc)` says which entry and why."""


@dataclass(frozen=True)
class FieldRule:
    source: str  # invoice | line | account | contact
    column: str  # a Dynamics column's logical name
    target: str  # a Xero field, as in TARGETS, or LineItem.Tracking.<category>

    @property
    def tracking_category(self) -> str | None:
        return self.target.removeprefix(TRACKING) if self.target.startswith(TRACKING) else None


@dataclass(frozen=True)
class FieldMapping:
    rules: tuple[FieldRule, ...] = ()

    def columns(self, source: str) -> tuple[str, ...]:
        """The extra columns to read from one source table."""
        return tuple(dict.fromkeys(r.column for r in self.rules if r.source == source))

    def rules_for(self, *sources: str) -> tuple[FieldRule, ...]:
        return tuple(r for r in self.rules if r.source in sources)


NO_MAPPING = FieldMapping()
FIX = "Correct Field mappings in the connector settings in Dynamics."


def parse(text: str | None) -> FieldMapping:
    """The mapping declared in `text` (empty: none), or MappingRefused."""
    if not text or not text.strip():
        return NO_MAPPING
    try:
        entries = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MappingRefused(
            f"Field mappings is not valid JSON ({exc.msg} at line {exc.lineno}, column "
            f"{exc.colno}). {FIX}"
        ) from exc
    if not isinstance(entries, list):
        raise MappingRefused(
            f'Field mappings must be a JSON list of {{"from", "to"}} entries. {FIX}'
        )
    rules = [_rule(n, entry) for n, entry in enumerate(entries, start=1)]
    targets = [r.target for r in rules]
    for target in set(targets):
        if targets.count(target) > 1:
            raise MappingRefused(f'Field mappings fills "{target}" more than once. {FIX}')
    return FieldMapping(tuple(rules))


def _rule(n: int, entry: object) -> FieldRule:
    if not isinstance(entry, dict) or not all(
        isinstance(entry.get(k), str) for k in ("from", "to")
    ):
        raise MappingRefused(
            f'Field mapping {n} must be an object with text "from" and "to", like '
            f'{{"from": "invoice.customerpurchaseordernumber", "to": "Reference"}}. {FIX}'
        )
    source, _, column = str(entry["from"]).strip().partition(".")
    target = str(entry["to"]).strip()
    if source not in SOURCES or not column:
        raise MappingRefused(
            f'Field mapping {n}: "from" is "{entry["from"]}"; it must be a table and a column, '
            f"the table one of {', '.join(SOURCES)} (e.g. line.dxc_region). {FIX}"
        )
    allowed = ("line",) if target.startswith(TRACKING) else TARGETS.get(target)
    if allowed is None or (target.startswith(TRACKING) and not target.removeprefix(TRACKING)):
        choices = ", ".join([*TARGETS, TRACKING + "<category>"])
        raise MappingRefused(
            f'Field mapping {n}: Xero has no field "{target}" that a mapping can fill; use one '
            f"of {choices}. {FIX}"
        )
    if source not in allowed:
        raise MappingRefused(
            f'Field mapping {n}: "{target}" can only come from {" or ".join(allowed)} columns, '
            f'not from "{source}". {FIX}'
        )
    return FieldRule(source, column.lower(), target)


def check_columns(mapping: FieldMapping, columns: Mapping[str, Mapping[str, str]]) -> None:
    """Every mapped column exists in Dynamics and holds a value Xero's field can take (not a
    lookup). `columns`: table logical name -> column logical name -> Dataverse AttributeType."""
    for n, rule in enumerate(mapping.rules, start=1):
        problem = column_problem(rule, columns)
        if problem:
            raise MappingRefused(f"Field mapping {n}: {problem} {FIX}")


# Xero fields that hold only text of their own kind, and the Dataverse column types that fit
# them; the others (Reference, a line's description, a tracking option) take any value as text.
TEXT_TYPES = ("String", "Memo")
TARGET_TYPES = {
    "Contact.EmailAddress": TEXT_TYPES,
    "Contact.FirstName": TEXT_TYPES,
    "Contact.LastName": TEXT_TYPES,
    "Contact.TaxNumber": TEXT_TYPES,
    "Contact.AccountNumber": (*TEXT_TYPES, "Integer", "BigInt"),
}
# Columns with no value of their own to $select: a lookup holds a reference; a virtual column
# is computed and cannot be selected (Dataverse answers 400).
NO_VALUE_TYPES = LOOKUP_TYPES | {"Virtual"}


def column_problem(rule: FieldRule, columns: Mapping[str, Mapping[str, str]]) -> str | None:
    """Why the rule's column cannot fill its Xero field, or None."""
    table, label = SOURCES[rule.source]
    kind = columns.get(table, {}).get(rule.column)
    if kind is None:
        return (
            f'the column "{rule.column}" does not exist on {label} ({table}) in Dynamics; use '
            "the column's logical name (lower case, e.g. dxc_region), as Settings > "
            "Customizations shows it."
        )
    if kind in LOOKUP_TYPES:
        return (
            f'the column "{rule.column}" on {label} is a lookup, which holds a reference, not '
            "a value; map a text, number, date or choice column."
        )
    if kind in NO_VALUE_TYPES:
        return f'the column "{rule.column}" on {label} is {kind}, which holds no value to copy.'
    fits = TARGET_TYPES.get(rule.target)
    if fits is not None and kind not in fits:
        return (
            f'the column "{rule.column}" on {label} is {kind}; Xero\'s {rule.target} takes '
            f"{' or '.join(fits)} columns only."
        )
    return None


def dump(mapping: FieldMapping) -> str:
    """The mapping as dxc_fieldmappings JSON (empty text for none)."""
    if not mapping.rules:
        return ""
    entries = [{"from": f"{r.source}.{r.column}", "to": r.target} for r in mapping.rules]
    return json.dumps(entries, indent=2)


def canonical(text: str | None) -> str:
    """The same mapping in one spelling (so a re-formatted one is not a change); text that is
    not a mapping stays as it is."""
    try:
        return dump(parse(text))
    except MappingRefused:
        return text or ""


@dataclass(frozen=True)
class ExtraColumns:
    """The columns the field mappings read, by source, with their Dataverse types."""

    mapping: FieldMapping = NO_MAPPING
    types: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # table -> col -> type

    def any(self) -> bool:
        return bool(self.mapping.rules)

    def columns(self, source: str) -> tuple[str, ...]:
        return self.mapping.columns(source)


NO_EXTRA = ExtraColumns()


def tables(mapping: FieldMapping) -> tuple[str, ...]:
    """The Dynamics tables whose columns the mapping reads."""
    return tuple(dict.fromkeys(SOURCES[r.source][0] for r in mapping.rules))
