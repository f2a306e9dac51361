"""Table and column metadata as Dataverse describes it: logical names, entity set names, types,
navigation properties. System tables are declared in systemtables.py; our solution's tables are
read from d365xero.solution.schema, never described a second time."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from d365xero.solution import schema


class T(StrEnum):
    """Attribute types (AttributeTypeCode names)."""

    STRING = "String"
    MEMO = "Memo"
    INT = "Integer"
    BIGINT = "BigInt"
    DECIMAL = "Decimal"
    MONEY = "Money"
    BOOL = "Boolean"
    PICKLIST = "Picklist"
    STATE = "State"
    STATUS = "Status"
    LOOKUP = "Lookup"
    CUSTOMER = "Customer"
    OWNER = "Owner"
    DATETIME = "DateTime"
    DATEONLY = "DateOnly"
    UNIQUEID = "Uniqueidentifier"


LOOKUP_TYPES = (T.LOOKUP, T.CUSTOMER, T.OWNER)
CHOICE_TYPES = (T.PICKLIST, T.STATE, T.STATUS)

EDM = {
    T.STRING: "Edm.String",
    T.MEMO: "Edm.String",
    T.INT: "Edm.Int32",
    T.BIGINT: "Edm.Int64",
    T.DECIMAL: "Edm.Decimal",
    T.MONEY: "Edm.Decimal",
    T.BOOL: "Edm.Boolean",
    T.PICKLIST: "Edm.Int32",
    T.STATE: "Edm.Int32",
    T.STATUS: "Edm.Int32",
    T.DATETIME: "Edm.DateTimeOffset",
    T.DATEONLY: "Edm.Date",
    T.UNIQUEID: "Edm.Guid",
    T.LOOKUP: "Edm.Guid",
    T.CUSTOMER: "Edm.Guid",
    T.OWNER: "Edm.Guid",
}


@dataclass
class Attr:
    logical_name: str
    type: T
    schema_name: str = ""
    max_length: int | None = None
    options: dict[int, str] = field(default_factory=dict)
    # lookups: target table -> (navigation property, relationship schema name)
    targets: dict[str, tuple[str, str]] = field(default_factory=dict)
    create: bool = True  # IsValidForCreate
    update: bool = True  # IsValidForUpdate
    required: bool = False  # SystemRequired (the platform enforces only this level)
    readable: bool = True  # False for write-only columns (serviceendpoint.authvalue)
    precision: int | None = None
    status_state: dict[int, int] = field(default_factory=dict)  # statuscode -> statecode
    custom: bool = False

    def __post_init__(self) -> None:
        if not self.schema_name:
            self.schema_name = self.logical_name

    @property
    def is_lookup(self) -> bool:
        return self.type in LOOKUP_TYPES

    @property
    def value_property(self) -> str:
        """How the column is read in the Web API: `_x_value` for a lookup."""
        return f"_{self.logical_name}_value" if self.is_lookup else self.logical_name


@dataclass
class Entity:
    logical_name: str
    schema_name: str
    entity_set: str
    primary_id: str
    primary_name: str
    display_name: str
    display_collection_name: str
    object_type_code: int
    attributes: dict[str, Attr] = field(default_factory=dict)
    change_tracking: bool = True
    custom: bool = False
    ownership: str = "UserOwned"
    keys: dict[str, tuple[str, ...]] = field(default_factory=dict)  # alternate keys
    # filled by Metadata.link():
    single_navs: dict[str, tuple[Attr, str]] = field(default_factory=dict)
    collection_navs: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def metadata_id(self) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"dataverse-entity:{self.logical_name}"))

    def add(self, *attrs: Attr) -> None:
        for attr in attrs:
            self.attributes[attr.logical_name] = attr

    def by_value_property(self, name: str) -> Attr | None:
        """The column behind a property name as the Web API spells it (`_x_value` or `x`)."""
        if name.startswith("_") and name.endswith("_value"):
            attr = self.attributes.get(name[1:-6])
            return attr if attr and attr.is_lookup else None
        attr = self.attributes.get(name)
        return attr if attr and not attr.is_lookup else None


class Metadata:
    def __init__(self) -> None:
        self.entities: dict[str, Entity] = {}
        self.by_set: dict[str, Entity] = {}

    def add(self, entity: Entity) -> None:
        self.entities[entity.logical_name] = entity
        self.by_set[entity.entity_set] = entity

    def get(self, logical_name: str) -> Entity:
        return self.entities[logical_name]

    def link(self) -> None:
        """Works out every navigation property from the lookups, as Dataverse exposes them."""
        for entity in self.entities.values():
            entity.single_navs.clear()
            entity.collection_navs.clear()
        for entity in self.entities.values():
            for attr in entity.attributes.values():
                for target, (nav, relationship) in attr.targets.items():
                    if target not in self.entities:
                        continue
                    entity.single_navs[nav] = (attr, target)
                    parent = self.entities[target]
                    parent.collection_navs[relationship] = (entity.logical_name, attr.logical_name)


# --- our solution's tables, from d365xero.solution.schema ------------------------------------

_COLUMN_TYPES = {
    schema.ColumnType.STRING: T.STRING,
    schema.ColumnType.MEMO: T.MEMO,
    schema.ColumnType.BOOLEAN: T.BOOL,
    schema.ColumnType.PICKLIST: T.PICKLIST,
    schema.ColumnType.LOOKUP: T.LOOKUP,
    schema.ColumnType.DATETIME: T.DATETIME,
    schema.ColumnType.DECIMAL: T.DECIMAL,
    schema.ColumnType.MONEY: T.MONEY,
    schema.ColumnType.INTEGER: T.INT,
}


def solution_attr(table_logical: str, column: schema.Column) -> Attr:
    attr = Attr(
        column.logical_name,
        _COLUMN_TYPES[column.type],
        schema_name=column.schema_name,
        max_length=column.max_length,
        options={o.value: o.label for o in column.options},
        required=column.required,
        precision=column.precision,
        custom=True,
    )
    if column.type is schema.ColumnType.LOOKUP:
        # The relationship (and the referenced table's collection-valued navigation property)
        # is named by the solution schema.
        relationship = schema.Lookup(table_logical, column).relationship_name
        attr.targets = {
            target: (column.navigation_property, relationship) for target in column.targets
        }
    return attr


def solution_entity(table: schema.Table, object_type_code: int) -> Entity:
    entity = Entity(
        logical_name=table.logical_name,
        schema_name=table.schema_name,
        entity_set=table.entity_set_name,
        primary_id=table.primary_id,
        primary_name=table.primary_name.logical_name,
        display_name=table.display_name,
        display_collection_name=table.plural_name,
        object_type_code=object_type_code,
        change_tracking=table.change_tracking,
        custom=True,
    )
    entity.add(Attr(table.primary_id, T.UNIQUEID, schema_name=table.schema_name + "Id"))
    for column in table.all_columns:
        entity.add(solution_attr(table.logical_name, column))
    return entity
