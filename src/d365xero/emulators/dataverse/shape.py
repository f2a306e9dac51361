"""How rows look on the wire: JSON values, $select and $expand, @odata.etag, and the
annotations a client asks for with `Prefer: odata.include-annotations` (PAD:webapi/query/
select-columns.md: FormattedValue, lookuplogicalname, associatednavigationproperty)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from d365xero.emulators.dataverse.errors import PropertyNotFound, QuerySyntaxError
from d365xero.emulators.dataverse.metadata import Attr, Entity, T
from d365xero.emulators.dataverse.models import Organisation, Ref, Row, etag
from d365xero.emulators.dataverse.odata import Evaluator, Expand, order_rows

FORMATTED = "OData.Community.Display.V1.FormattedValue"
LOOKUP_LOGICAL = "Microsoft.Dynamics.CRM.lookuplogicalname"
ASSOCIATED_NAV = "Microsoft.Dynamics.CRM.associatednavigationproperty"


@dataclass
class Annotations:
    patterns: list[str] = field(default_factory=list)

    @classmethod
    def from_prefer(cls, value: str | None) -> Annotations:
        if not value:
            return cls()
        return cls([p.strip() for p in value.strip('"').split(",") if p.strip()])

    def wants(self, name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, p) for p in self.patterns if not p.startswith("-"))


def json_value(value: Any) -> Any:
    if isinstance(value, Ref):
        return value.id
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        # JSON numbers, as Dataverse writes Edm.Decimal (money keeps 2 places internally).
        return float(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def formatted(org: Organisation, attr: Attr, row: Row, value: Any) -> str | None:
    """The value as Dynamics shows it to an en-US user in UTC."""
    if value is None:
        return None
    if attr.is_lookup:
        return org.primary_name(value)
    if attr.type is T.BOOL:
        return attr.options.get(int(value), "Yes" if value else "No")
    if attr.options:
        return attr.options.get(value, str(value))
    if attr.type is T.MONEY:
        return f"{_currency_symbol(org, row)}{value:,.2f}"
    if attr.type in (T.INT, T.BIGINT):
        return f"{value:,}"
    if attr.type is T.DECIMAL:
        return f"{value:,.{attr.precision or 2}f}"
    if attr.type is T.DATETIME:
        return str(value.strftime("%-m/%-d/%Y %-I:%M %p"))
    if attr.type is T.DATEONLY:
        return str(value.strftime("%-m/%-d/%Y"))
    return None


def _currency_symbol(org: Organisation, row: Row) -> str:
    ref = row.get("transactioncurrencyid")
    if isinstance(ref, Ref):
        currency = org.find("transactioncurrency", ref.id)
        if currency:
            return str(currency.get("currencysymbol") or "")
    return ""


def selected_attrs(entity: Entity, select: list[str] | None) -> list[Attr]:
    if select is None:
        return list(entity.attributes.values())
    attrs: dict[str, Attr] = {}
    for name in select:
        attr = entity.by_value_property(name)
        if attr is None:
            raise PropertyNotFound(name, entity.logical_name)
        attrs[attr.logical_name] = attr
    # The primary key is always returned; selecting money brings the currency
    # (PAD:webapi/query/select-columns.md).
    attrs.setdefault(entity.primary_id, entity.attributes[entity.primary_id])
    if (
        any(a.type is T.MONEY for a in attrs.values())
        and "transactioncurrencyid" in entity.attributes
    ):
        attrs.setdefault("transactioncurrencyid", entity.attributes["transactioncurrencyid"])
    return list(attrs.values())


def check_expand(
    org: Organisation, entity: Entity, expands: list[Expand], nested: bool = False
) -> None:
    if len(expands) > 15:
        raise QuerySyntaxError("The number of expanded entities exceeds the limit of 15.")
    for exp in expands:
        kind = org.nav_kind(entity.logical_name, exp.nav)
        if kind is None:
            raise PropertyNotFound(exp.nav, entity.logical_name)
        target = org.entity(kind[0])
        single = kind[1] == "single"
        if (single or nested or exp.expand) and exp.has_options & {"$orderby", "$top"}:
            # PAD:webapi/query/join-tables.md
            raise QuerySyntaxError(
                "Only $select and $filter clause can be provided while doing $expand on "
                "many-to-one relationship or nested one-to-many relationship."
            )
        selected_attrs(target, exp.select)
        if exp.filter is not None:
            Evaluator(org).check(exp.filter, target.logical_name)
        check_expand(org, target, exp.expand, nested=True)


def represent(
    org: Organisation,
    entity: Entity,
    row: Row,
    select: list[str] | None,
    expands: list[Expand],
    annotations: Annotations,
) -> dict[str, Any]:
    out: dict[str, Any] = {"@odata.etag": etag(row)}
    for attr in selected_attrs(entity, select):
        name = attr.value_property
        value = row.get(attr.logical_name) if attr.readable else None
        out[name] = json_value(value)
        if value is None:
            continue
        if annotations.wants(FORMATTED):
            text = formatted(org, attr, row, value)
            if text is not None:
                out[f"{name}@{FORMATTED}"] = text
        if attr.is_lookup and isinstance(value, Ref):
            if annotations.wants(ASSOCIATED_NAV):
                out[f"{name}@{ASSOCIATED_NAV}"] = attr.targets[value.entity][0]
            if annotations.wants(LOOKUP_LOGICAL):
                out[f"{name}@{LOOKUP_LOGICAL}"] = value.entity
    for exp in expands:
        out[exp.nav] = _expanded(org, entity, row, exp, annotations)
    return out


def _expanded(
    org: Organisation, entity: Entity, row: Row, exp: Expand, annotations: Annotations
) -> Any:
    kind = org.nav_kind(entity.logical_name, exp.nav)
    assert kind is not None
    target = org.entity(kind[0])
    if kind[1] == "single":
        hop = org.follow(entity.logical_name, row, exp.nav)
        if hop is None or (
            exp.filter is not None and not Evaluator(org).matches(exp.filter, hop[0], hop[1])
        ):
            return None
        return represent(org, target, hop[1], exp.select, exp.expand, annotations)
    _, rows = org.related(entity.logical_name, row, exp.nav)
    if exp.filter is not None:
        rows = [r for r in rows if Evaluator(org).matches(exp.filter, target.logical_name, r)]
    rows = order_rows(rows, exp.orderby, lambda r, p: path_value(org, target.logical_name, r, p))
    if exp.top is not None:
        rows = rows[: exp.top]
    return [represent(org, target, r, exp.select, exp.expand, annotations) for r in rows]


def path_value(org: Organisation, entity: str, row: Row, path: tuple[str, ...]) -> Any:
    for nav in path[:-1]:
        hop = org.follow(entity, row, nav)
        if hop is None:
            return None
        entity, row = hop
    return org.value(entity, row, path[-1])
