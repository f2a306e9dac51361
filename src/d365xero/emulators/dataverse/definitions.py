"""Metadata as the Web API serves it: `EntityDefinitions` (with $select/$filter, by LogicalName
or MetadataId, `/Attributes`, `/Keys`, relationships) and a CSDL `$metadata` document.

What clients read: Microsoft's Dataverse SDK resolves a table with `GET EntityDefinitions?
$select=LogicalName,EntitySetName,PrimaryIdAttribute&$filter=LogicalName eq '<name>'` and reads
`EntityDefinitions(<MetadataId>)/Attributes` (PYSDK data/_odata.py); dataverse-api reads
`EntityDefinitions(LogicalName='x')` (reference/dataverse.md §9).
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from d365xero.emulators.dataverse.errors import (
    DataverseError,
    InvalidArgument,
    MethodNotAllowed,
    PropertyNotFound,
    ResourceNotFound,
)
from d365xero.emulators.dataverse.metadata import EDM, Attr, Entity, T
from d365xero.emulators.dataverse.odata import Evaluator, parse_filter, parse_select

if TYPE_CHECKING:
    from d365xero.emulators.dataverse.models import Organisation
    from d365xero.emulators.dataverse.webapi import ApiRequest, ApiResponse

_KEY = re.compile(r"^(\w+)(?:\((.*)\))?$")


def _label(text: str) -> dict[str, Any]:
    label = {"Label": text, "LanguageCode": 1033, "IsManaged": False}
    return {"LocalizedLabels": [label], "UserLocalizedLabel": label}


def entity_definition(entity: Entity) -> dict[str, Any]:
    return {
        "MetadataId": entity.metadata_id,
        "LogicalName": entity.logical_name,
        "SchemaName": entity.schema_name,
        "EntitySetName": entity.entity_set,
        "LogicalCollectionName": entity.entity_set,
        "CollectionSchemaName": entity.schema_name + "s",
        "PrimaryIdAttribute": entity.primary_id,
        "PrimaryNameAttribute": entity.primary_name,
        "ObjectTypeCode": entity.object_type_code,
        "IsCustomEntity": entity.custom,
        "IsActivity": False,
        "IsIntersect": False,
        "ChangeTrackingEnabled": entity.change_tracking,
        "OwnershipType": entity.ownership,
        "DisplayName": _label(entity.display_name),
        "DisplayCollectionName": _label(entity.display_collection_name),
        "Description": _label(entity.display_name),
    }


def attribute_definition(entity: Entity, attr: Attr) -> dict[str, Any]:
    out: dict[str, Any] = {
        "@odata.type": f"#Microsoft.Dynamics.CRM.{_attribute_type(attr)}",
        "MetadataId": str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"attr:{entity.logical_name}.{attr.logical_name}")
        ),
        "LogicalName": attr.logical_name,
        "SchemaName": attr.schema_name,
        "EntityLogicalName": entity.logical_name,
        "AttributeType": attr.type.value,
        "AttributeTypeName": {"Value": f"{attr.type.value}Type"},
        "IsCustomAttribute": attr.custom,
        "IsPrimaryId": attr.logical_name == entity.primary_id,
        "IsPrimaryName": attr.logical_name == entity.primary_name,
        "IsValidForCreate": attr.create,
        "IsValidForUpdate": attr.update,
        "IsValidForRead": True,
        "RequiredLevel": {"Value": "SystemRequired" if attr.required else "None"},
        "DisplayName": _label(attr.schema_name),
    }
    if attr.max_length:
        out["MaxLength"] = attr.max_length
    if attr.is_lookup:
        out["Targets"] = list(attr.targets)
    if attr.precision is not None:
        out["Precision"] = attr.precision
    return out


def _attribute_type(attr: Attr) -> str:
    names = {
        T.STRING: "StringAttributeMetadata",
        T.MEMO: "MemoAttributeMetadata",
        T.INT: "IntegerAttributeMetadata",
        T.BIGINT: "BigIntAttributeMetadata",
        T.DECIMAL: "DecimalAttributeMetadata",
        T.MONEY: "MoneyAttributeMetadata",
        T.BOOL: "BooleanAttributeMetadata",
        T.PICKLIST: "PicklistAttributeMetadata",
        T.STATE: "StateAttributeMetadata",
        T.STATUS: "StatusAttributeMetadata",
        T.DATETIME: "DateTimeAttributeMetadata",
        T.DATEONLY: "DateTimeAttributeMetadata",
        T.UNIQUEID: "UniqueIdentifierAttributeMetadata",
    }
    return names.get(attr.type, "LookupAttributeMetadata")


class _DictResolver:
    """Lets the $filter evaluator run over metadata dictionaries."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.names = set().union(*(r.keys() for r in rows)) if rows else set()

    def value(self, entity: str, row: dict[str, Any], name: str) -> Any:
        return row.get(name)

    def follow(self, entity: str, row: dict[str, Any], nav: str) -> None:
        return None

    def related(self, entity: str, row: dict[str, Any], nav: str) -> tuple[str, list[Any]]:
        return entity, []

    def check_property(self, entity: str, name: str) -> None:
        if self.names and name not in self.names:
            raise PropertyNotFound(name, entity)

    def nav_kind(self, entity: str, nav: str) -> None:
        return None


def _query(
    req: ApiRequest, rows: list[dict[str, Any]], type_name: str, context: str
) -> ApiResponse:
    from d365xero.emulators.dataverse.webapi import ApiResponse

    params = req.params()
    if "$filter" in params:
        resolver = _DictResolver(rows)
        tree = parse_filter(params["$filter"])
        ev = Evaluator(resolver)
        ev.check(tree, type_name)
        rows = [r for r in rows if ev.matches(tree, type_name, r)]
    select = parse_select(params.get("$select"))
    if select:
        for name in select:
            if rows and name not in rows[0]:
                raise PropertyNotFound(name, type_name)
        rows = [{k: r[k] for k in select if k in r} | _ids(r) for r in rows]
    return ApiResponse.json(200, {"@odata.context": context, "value": rows})


def _ids(row: dict[str, Any]) -> dict[str, Any]:
    return {"MetadataId": row["MetadataId"]} if "MetadataId" in row else {}


def _find(org: Organisation, key: str) -> Entity:
    m = re.match(r"^LogicalName='([^']*)'$", key)
    if m:
        entity = org.metadata.entities.get(m.group(1))
    else:
        entity = next(
            (e for e in org.metadata.entities.values() if e.metadata_id == key.lower()), None
        )
    if entity is None:
        raise DataverseError(
            404, "0x80040217", f"Could not find entity with key {key} in metadata cache."
        )
    return entity


def entity_definitions(org: Organisation, req: ApiRequest, segments: list[str]) -> ApiResponse:
    from d365xero.emulators.dataverse.webapi import ApiResponse

    if req.method == "POST" and len(segments) == 2 and segments[1] == "Keys":
        return _create_key(
            org, req, _find(org, (_KEY.match(segments[0]) or _no(segments)).group(2) or "")
        )
    if req.method != "GET":
        raise MethodNotAllowed(req.method)
    m = _KEY.match(segments[0])
    if not m or m.group(1) != "EntityDefinitions":
        raise ResourceNotFound(segments[0])
    base = f"{req.base}$metadata#EntityDefinitions"
    if m.group(2) is None:
        if len(segments) > 1:
            raise ResourceNotFound(segments[1])
        rows = [entity_definition(e) for e in org.metadata.entities.values()]
        return _query(req, rows, "EntityMetadata", base)
    entity = _find(org, m.group(2))
    if len(segments) == 1:
        row = entity_definition(entity)
        select = parse_select(req.params().get("$select"))
        if select:
            for name in select:
                if name not in row:
                    raise PropertyNotFound(name, "EntityMetadata")
            row = {k: row[k] for k in select} | _ids(row)
        return ApiResponse.json(200, {"@odata.context": f"{base}/$entity", **row})
    sub = _KEY.match(segments[1])
    if not sub:
        raise ResourceNotFound(segments[1])
    name, key = sub.group(1), sub.group(2)
    if name == "Attributes":
        attrs = [attribute_definition(entity, a) for a in entity.attributes.values()]
        if key is None:
            return _query(
                req, attrs, "AttributeMetadata", f"{base}({entity.metadata_id})/Attributes"
            )
        km = re.match(r"^LogicalName='([^']*)'$", key)
        found = [
            a for a in attrs if (km and a["LogicalName"] == km.group(1)) or a["MetadataId"] == key
        ]
        if not found:
            raise DataverseError(
                404,
                "0x80040217",
                f"Could not find attribute with key {key} on {entity.logical_name}.",
            )
        return ApiResponse.json(200, {"@odata.context": f"{base}/Attributes/$entity", **found[0]})
    if name == "Keys":
        keys = [
            {
                "LogicalName": k,
                "SchemaName": k,
                "KeyAttributes": list(cols),
                "EntityKeyIndexStatus": "Active",
            }
            for k, cols in entity.keys.items()
        ]
        return ApiResponse.json(200, {"@odata.context": f"{base}/Keys", "value": keys})
    if name in ("ManyToOneRelationships", "OneToManyRelationships"):
        return _query(
            req, _relationships(org, entity, name), "RelationshipMetadata", f"{base}/{name}"
        )
    raise ResourceNotFound(name)


def _no(segments: list[str]) -> re.Match[str]:
    raise ResourceNotFound(segments[0])


def _key_definition(entity: Entity, schema_name: str, columns: tuple[str, ...]) -> dict[str, Any]:
    return {
        "MetadataId": str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"key:{entity.logical_name}.{schema_name}")
        ),
        "LogicalName": schema_name.lower(),
        "SchemaName": schema_name,
        "EntityLogicalName": entity.logical_name,
        "KeyAttributes": list(columns),
        # Dataverse builds the index asynchronously (Pending, then Active); here it is ready now.
        "EntityKeyIndexStatus": "Active",
        "DisplayName": _label(schema_name),
    }


def _create_key(org: Organisation, req: ApiRequest, entity: Entity) -> ApiResponse:
    """`POST EntityDefinitions(LogicalName='x')/Keys` with EntityKeyMetadata."""
    from d365xero.emulators.dataverse.payload import load_json
    from d365xero.emulators.dataverse.webapi import ApiResponse

    data = load_json(req.body, "EntityDefinitions")
    schema_name, columns = data.get("SchemaName"), data.get("KeyAttributes")
    if not isinstance(schema_name, str) or not isinstance(columns, list) or not columns:
        raise InvalidArgument("An entity key needs a SchemaName and KeyAttributes.")
    for column in columns:
        if column not in entity.attributes:
            raise PropertyNotFound(str(column), entity.logical_name)
    if schema_name in entity.keys:
        raise DataverseError(
            400, "0x80040237", f"An entity key with the name {schema_name} already exists."
        )
    entity.keys[schema_name] = tuple(columns)
    key = _key_definition(entity, schema_name, tuple(columns))
    uri = f"{req.base}EntityDefinitions({entity.metadata_id})/Keys({key['MetadataId']})"
    return ApiResponse(204, {"OData-Version": "4.0", "OData-EntityId": uri})


def _relationships(org: Organisation, entity: Entity, kind: str) -> list[dict[str, Any]]:
    out = []
    if kind == "ManyToOneRelationships":
        for nav, (attr, target) in entity.single_navs.items():
            relationship = attr.targets[target][1]
            out.append(
                _relationship(relationship, entity.logical_name, attr.logical_name, target, nav)
            )
    else:
        for nav, (child, attr_name) in entity.collection_navs.items():
            attr = org.entity(child).attributes[attr_name]
            out.append(
                _relationship(
                    nav, child, attr_name, entity.logical_name, attr.targets[entity.logical_name][0]
                )
            )
    return out


def _relationship(
    name: str, referencing: str, attr: str, referenced: str, nav: str
) -> dict[str, Any]:
    return {
        "SchemaName": name,
        "ReferencingEntity": referencing,
        "ReferencingAttribute": attr,
        "ReferencedEntity": referenced,
        "ReferencedAttribute": f"{referenced}id",
        "ReferencingEntityNavigationPropertyName": nav,
        "ReferencedEntityNavigationPropertyName": name,
        "RelationshipType": "OneToManyRelationship",
    }


def csdl(org: Organisation, req: ApiRequest) -> ApiResponse:
    """A CSDL document with every table's key, properties and navigation properties."""
    from d365xero.emulators.dataverse.webapi import ApiResponse

    types = []
    for e in org.metadata.entities.values():
        props = [f'<Key><PropertyRef Name="{e.primary_id}" /></Key>']
        for attr in e.attributes.values():
            props.append(f'<Property Name="{attr.value_property}" Type="{EDM[attr.type]}" />')
        for nav, (_, target) in e.single_navs.items():
            props.append(f'<NavigationProperty Name="{nav}" Type="mscrm.{target}" />')
        for nav, (child, _) in e.collection_navs.items():
            props.append(f'<NavigationProperty Name="{nav}" Type="Collection(mscrm.{child})" />')
        tracking = (
            '<Annotation Term="Org.OData.Capabilities.V1.ChangeTracking"><Record>'
            '<PropertyValue Property="Supported" Bool="true" /></Record></Annotation>'
            if e.change_tracking
            else ""
        )
        types.append(
            f'<EntityType Name="{escape(e.logical_name)}" BaseType="mscrm.crmbaseentity">'
            + "".join(props)
            + tracking
            + "</EntityType>"
        )
    sets = "".join(
        f'<EntitySet Name="{e.entity_set}" EntityType="Microsoft.Dynamics.CRM.{e.logical_name}" />'
        for e in org.metadata.entities.values()
    )
    xml = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">'
        '<edmx:DataServices><Schema Namespace="Microsoft.Dynamics.CRM" Alias="mscrm" '
        'xmlns="http://docs.oasis-open.org/odata/ns/edm">'
        '<EntityType Name="crmbaseentity" Abstract="true" />'
        + "".join(types)
        + '<ComplexType Name="WhoAmIResponse"><Property Name="BusinessUnitId" Type="Edm.Guid" '
        'Nullable="false" /><Property Name="UserId" Type="Edm.Guid" Nullable="false" />'
        '<Property Name="OrganizationId" Type="Edm.Guid" Nullable="false" /></ComplexType>'
        '<Function Name="WhoAmI"><ReturnType Type="mscrm.WhoAmIResponse" Nullable="false" />'
        '</Function><EntityContainer Name="System">'
        + sets
        + '<FunctionImport Name="WhoAmI" Function="Microsoft.Dynamics.CRM.WhoAmI" />'
        "</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>"
    )
    return ApiResponse(
        200, {"Content-Type": "application/xml", "OData-Version": "4.0"}, xml.encode()
    )
