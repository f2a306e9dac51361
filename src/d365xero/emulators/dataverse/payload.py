"""Reading a JSON request body into column values: types, lengths and options checked, lookups
bound through navigation properties (`<nav>@odata.bind`) exactly as Dataverse names them.

PAD:webapi/create-entity-web-api.md (binds, deep insert); "Troubleshoot Dataverse Web API client
errors" (undeclared property for `parentcustomerid@odata.bind`; case-sensitive names).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import unquote, urlparse

from d365xero.emulators.dataverse.errors import (
    InvalidJson,
    LookupPropertyWrite,
    ObjectDoesNotExist,
    PayloadError,
    UndeclaredProperty,
    UnknownPayloadProperty,
    ValidationError,
)
from d365xero.emulators.dataverse.metadata import Attr, Entity, T
from d365xero.emulators.dataverse.models import Organisation, Ref
from d365xero.emulators.dataverse.odata import GUID_RE, parse_datetime

_REFERENCE = re.compile(r"^/?(?:api/data/v9\.\d/)?([A-Za-z_]\w*)\(([^)]*)\)$")
_EDM = {
    T.INT: "Edm.Int32",
    T.BIGINT: "Edm.Int64",
    T.DECIMAL: "Edm.Decimal",
    T.MONEY: "Edm.Decimal",
    T.BOOL: "Edm.Boolean",
    T.DATETIME: "Edm.DateTimeOffset",
    T.DATEONLY: "Edm.Date",
    T.UNIQUEID: "Edm.Guid",
}


@dataclass
class Payload:
    values: dict[str, Any] = field(default_factory=dict)
    # deep insert: collection-valued navigation property -> child bodies
    children: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # deep insert: single-valued navigation property -> related body to create first
    parents: dict[str, dict[str, Any]] = field(default_factory=dict)


def load_json(body: bytes, entity_set: str) -> dict[str, Any]:
    try:
        data = json.loads(body.decode("utf-8") or "null", parse_float=Decimal)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidJson(entity_set, str(exc)) from exc
    if not isinstance(data, dict):
        raise InvalidJson(entity_set, "A JSON object was expected for an entity.")
    return data


def reference(org: Organisation, uri: str, entity_set: str) -> Ref:
    """`/accounts(<id>)`, `accounts(<id>)` or the full URL, as a bind or @odata.id value."""
    path = unquote(urlparse(uri).path) if "://" in uri else uri
    m = _REFERENCE.search(path)
    if not m or m.group(1) not in org.metadata.by_set:
        raise PayloadError(entity_set, f"The URI '{uri}' is not valid for the navigation property.")
    target = org.metadata.by_set[m.group(1)]
    key = m.group(2).strip("'")
    if not GUID_RE.match(key):
        raise PayloadError(entity_set, f"The key '{key}' in '{uri}' is not a valid Guid.")
    if org.find(target.logical_name, key) is None:
        raise ObjectDoesNotExist(target.logical_name, key)
    return Ref(target.logical_name, key.lower())


def coerce(attr: Attr, value: Any, entity: Entity) -> Any:
    """A JSON value as the column's type, or Dataverse's error."""
    if value is None:
        return None
    t = attr.type
    if t in (T.STRING, T.MEMO):
        if not isinstance(value, str):
            raise _convert(entity, value, "Edm.String")
        if attr.max_length and len(value) > attr.max_length:
            raise ValidationError(
                f"The length of the '{attr.logical_name}' attribute of the '{entity.logical_name}'"
                f" entity exceeded the maximum allowed length of '{attr.max_length}'."
            )
        return value
    if t in (T.INT, T.BIGINT, T.PICKLIST, T.STATE, T.STATUS):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _convert(entity, value, "Edm.Int32")
        if attr.options and value not in attr.options:
            raise ValidationError(
                f"The value {value} of '{attr.logical_name}' on record of type "
                f"'{entity.logical_name}' is outside the valid range. Accepted Values: "
                f"{','.join(str(v) for v in attr.options)}"
            )
        return value
    if t in (T.DECIMAL, T.MONEY):
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise _convert(entity, value, "Edm.Decimal")
        return Decimal(value)
    if t is T.BOOL:
        if not isinstance(value, bool):
            raise _convert(entity, value, "Edm.Boolean")
        return value
    if t is T.DATETIME:
        try:
            return parse_datetime(str(value))
        except ValueError as exc:
            raise _convert(entity, value, "Edm.DateTimeOffset") from exc
    if t is T.DATEONLY:
        try:
            return date.fromisoformat(str(value)[:10])
        except ValueError as exc:
            raise _convert(entity, value, "Edm.Date") from exc
    if t is T.UNIQUEID:
        if not isinstance(value, str) or not GUID_RE.match(value):
            raise _convert(entity, value, "Edm.Guid")
        return value.lower()
    raise _convert(entity, value, _EDM.get(t, "Edm.String"))


def _convert(entity: Entity, value: Any, edm: str) -> PayloadError:
    return PayloadError(
        entity.entity_set, f"Cannot convert the literal '{value}' to the expected type '{edm}'."
    )


def read(org: Organisation, entity: Entity, data: dict[str, Any]) -> Payload:
    out = Payload()
    for key, value in data.items():
        if "@" in key:
            _annotation(org, entity, key, value, out)
            continue
        if key in entity.single_navs and isinstance(value, dict):
            out.parents[key] = value
            continue
        if key in entity.collection_navs:
            if not isinstance(value, list):
                raise PayloadError(entity.entity_set, f"A collection was expected for '{key}'.")
            out.children[key] = value
            continue
        attr = entity.attributes.get(key)
        if attr is None or attr.is_lookup:
            lookup = entity.by_value_property(key)
            if lookup is not None and lookup.is_lookup:
                raise LookupPropertyWrite()
            raise UnknownPayloadProperty(entity.entity_set, key, entity.logical_name)
        out.values[key] = coerce(attr, value, entity)
    return out


def _annotation(org: Organisation, entity: Entity, key: str, value: Any, out: Payload) -> None:
    name, _, annotation = key.partition("@")
    if not name:
        return  # instance annotations such as @odata.type, @odata.etag
    if annotation != "odata.bind":
        return
    nav = entity.single_navs.get(name)
    if nav is None:
        if name in entity.collection_navs:
            raise PayloadError(
                entity.entity_set,
                f"Binding to the collection-valued navigation property '{name}' is not supported "
                "on this request; associate with POST .../{name}/$ref.",
            )
        raise UndeclaredProperty(entity.entity_set, name)
    attr, target = nav
    if value is None:
        out.values[attr.logical_name] = None
        return
    if not isinstance(value, str):
        raise PayloadError(entity.entity_set, f"The value of '{key}' must be a URI string.")
    ref = reference(org, value, entity.entity_set)
    if ref.entity != target:
        raise PayloadError(
            entity.entity_set,
            f"The navigation property '{name}' points to '{target}', not to '{ref.entity}'.",
        )
    out.values[attr.logical_name] = ref
