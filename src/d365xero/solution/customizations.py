"""customizations.xml: our tables and columns, the columns we add to Dynamics tables, their
relationships, forms, views and the integration role, all written from schema.py.

The shape follows a real Dataverse export (reference/dataverse.md §8) and validates against
Microsoft's 9.0.0.2090 CustomizationsSolution.xsd (specs/dataverse-xsd-9.0), the schema current
exports follow: it declares EntitySetName, NavigationPropertyName, RelationshipRoleType and
`unmodified` on an entity, and ObjectTypeCode is left out as current exports leave it out.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from d365xero.solution.forms import write_form_xml
from d365xero.solution.schema import (
    EXTENSIONS,
    INTEGRATION_ROLE,
    INTEGRATION_ROLE_NAME,
    TABLES,
    Access,
    Column,
    ColumnType,
    Lookup,
    Table,
    TableExtension,
    lookups,
    system_table,
    table,
)
from d365xero.solution.views import write_saved_queries
from d365xero.solution.xmltools import LANGUAGE, XSI, flags, guid, localized, sub, to_bytes

INTRODUCED = "1.0.0.0"
ROLE_ID = guid("role", INTEGRATION_ROLE_NAME)

_READ_WRITE = ("Create", "Read", "Write", "Append", "AppendTo")
# Privileges are named prv<Right><entity SchemaName>, except the user table's: prvReadUser
# (SystemUser entity privileges, Dynamics CRM 2015/2016 SDK reference).
_PRIVILEGE_ENTITY = {"systemuser": "User"}


def customizations_xml() -> bytes:
    root = ET.Element("ImportExportXml", {"xmlns:xsi": XSI})
    entities = sub(root, "Entities")
    for t in TABLES:
        _write_custom_entity(entities, t)
    for extension in EXTENSIONS:
        _write_extended_entity(entities, extension)
    _write_role(sub(root, "Roles"))
    for empty in ("Workflows", "FieldSecurityProfiles", "Templates", "EntityMaps"):
        sub(root, empty)
    relationships = sub(root, "EntityRelationships")
    for lookup in lookups():
        _write_relationship(relationships, lookup)
    sub(root, "optionsets")  # every choice is local to its column
    sub(sub(root, "Languages"), "Language", LANGUAGE)
    return to_bytes(root)


def entity_schema_name(logical_name: str) -> str:
    try:
        return table(logical_name).schema_name
    except KeyError:
        return system_table(logical_name).schema_name


def _write_custom_entity(parent: ET.Element, t: Table) -> None:
    entity_holder = sub(parent, "Entity")
    sub(entity_holder, "Name", t.schema_name, LocalizedName=t.display_name).set(
        "OriginalName", t.display_name
    )
    entity = sub(sub(entity_holder, "EntityInfo"), "entity", Name=t.schema_name)
    localized(entity, "LocalizedNames", "LocalizedName", t.display_name)
    localized(entity, "LocalizedCollectionNames", "LocalizedCollectionName", t.plural_name)
    localized(entity, "Descriptions", "Description", t.description)
    attributes = sub(entity, "attributes")
    _write_primary_key(attributes, t)
    for column in t.all_columns:
        write_attribute(attributes, t.logical_name, column, primary=column == t.primary_name)
    _write_state_attributes(attributes, t)
    sub(entity, "EntitySetName", t.entity_set_name)
    sub(entity, "OwnershipTypeMask", "UserOwned")
    sub(entity, "IntroducedVersion", INTRODUCED)
    flags(
        entity,
        IsActivity=False,
        IsAuditEnabled=True,
        IsDuplicateCheckSupported=False,
        IsBusinessProcessEnabled=False,
        IsConnectionsEnabled=False,
        IsDocumentManagementEnabled=False,
        IsQuickCreateEnabled=False,
        IsCustomizable=True,
        IsRenameable=True,
        IsMappable=True,
        ChangeTrackingEnabled=t.change_tracking,
        CanChangeTrackingBeEnabled=True,
    )
    sub(entity, "HasRelatedNotes", "False")
    sub(entity, "HasRelatedActivities", "False")
    write_form_xml(entity_holder, t.logical_name)
    write_saved_queries(entity_holder, t)


def _write_extended_entity(parent: ET.Element, extension: TableExtension) -> None:
    """A Dynamics table as an export shows it when a solution adds columns to it: a shell whose
    own settings are `unmodified`, unless we turn change tracking on, which is an entity
    setting."""
    system = system_table(extension.logical_name)
    entity_holder = sub(parent, "Entity")
    sub(entity_holder, "Name", system.schema_name, LocalizedName=system.display_name).set(
        "OriginalName", system.display_name
    )
    entity = sub(sub(entity_holder, "EntityInfo"), "entity", Name=system.schema_name)
    if system.change_tracking:
        localized(entity, "LocalizedNames", "LocalizedName", system.display_name)
        localized(entity, "LocalizedCollectionNames", "LocalizedCollectionName", system.plural_name)
        localized(entity, "Descriptions", "Description", system.description)
    else:
        entity.set("unmodified", "1")
    attributes = sub(entity, "attributes")
    for column in extension.columns:
        write_attribute(attributes, extension.logical_name, column)
    if system.change_tracking:
        flags(entity, ChangeTrackingEnabled=True)
    write_form_xml(entity_holder, extension.logical_name)


def write_attribute(
    parent: ET.Element, table_name: str, column: Column, *, primary: bool = False
) -> None:
    attribute = sub(parent, "attribute", PhysicalName=column.schema_name)
    sub(attribute, "Type", column.type.value)
    sub(attribute, "Name", column.logical_name)
    sub(attribute, "LogicalName", column.logical_name)
    sub(attribute, "RequiredLevel", "required" if column.required else "none")
    mask = "ValidForAdvancedFind|ValidForForm|ValidForGrid"
    sub(attribute, "DisplayMask", f"PrimaryName|{mask}|RequiredForForm" if primary else mask)
    flags(
        attribute,
        ValidForUpdateApi=True,
        ValidForReadApi=True,
        ValidForCreateApi=True,
        IsCustomField=True,
        IsAuditEnabled=True,
        IsSecured=False,
        IsCustomizable=True,
        IsRenameable=True,
        CanModifySearchSettings=True,
        CanModifyRequirementLevelSettings=True,
        CanModifyAdditionalSettings=True,
    )
    sub(attribute, "IntroducedVersion", INTRODUCED)
    sub(attribute, "SourceType", 0)
    _write_type_details(attribute, table_name, column)
    localized(attribute, "displaynames", "displayname", column.display_name)
    localized(attribute, "Descriptions", "Description", column.description)


def _write_type_details(attribute: ET.Element, table_name: str, column: Column) -> None:
    kind = column.type
    if kind is ColumnType.STRING:
        length = column.max_length or 100
        sub(attribute, "Format", column.format or "text")
        sub(attribute, "MaxLength", length)
        sub(attribute, "Length", length * 2)
    elif kind is ColumnType.MEMO:
        sub(attribute, "Format", "textarea")
        sub(attribute, "MaxLength", column.max_length or 2000)
    elif kind in (ColumnType.BOOLEAN, ColumnType.PICKLIST):
        sub(attribute, "AppDefaultValue", 0 if kind is ColumnType.BOOLEAN else -1)
        _write_local_option_set(attribute, table_name, column)
    elif kind is ColumnType.LOOKUP:
        sub(attribute, "LookupStyle", "single")
        sub(attribute, "LookupTypes")
    elif kind is ColumnType.DATETIME:
        sub(attribute, "Format", "datetime")
        sub(attribute, "Behavior", 1)  # 1 = user local, the Dataverse default
        flags(attribute, CanChangeDateTimeBehavior=True)
    elif kind is ColumnType.INTEGER:
        sub(attribute, "Format", "none")
        sub(attribute, "MinValue", -2147483648)
        sub(attribute, "MaxValue", 2147483647)
    else:  # decimal and money: the limits Dataverse gives a new column of the type
        limit = 922337203685477 if kind is ColumnType.MONEY else 100000000000
        sub(attribute, "MinValue", -limit)
        sub(attribute, "MaxValue", limit)
        sub(attribute, "Accuracy", column.precision if column.precision is not None else 2)
        if kind is ColumnType.MONEY:
            sub(attribute, "AccuracySource", 2)  # 2 = the currency's precision


def _write_local_option_set(attribute: ET.Element, table_name: str, column: Column) -> None:
    option_set = sub(attribute, "optionset", Name=f"{table_name}_{column.logical_name}")
    is_bit = column.type is ColumnType.BOOLEAN
    sub(option_set, "OptionSetType", "bit" if is_bit else "picklist")
    if not is_bit:
        flags(option_set, IsGlobal=False)
    sub(option_set, "IntroducedVersion", INTRODUCED)
    flags(option_set, IsCustomizable=True)
    localized(option_set, "displaynames", "displayname", column.display_name)
    localized(option_set, "Descriptions", "Description", column.description)
    options = sub(option_set, "options")
    for option in column.options:
        element = sub(options, "option", value=str(option.value))
        sub(sub(element, "labels"), "label", description=option.label, languagecode=str(LANGUAGE))


def _write_primary_key(attributes: ET.Element, t: Table) -> None:
    key = sub(attributes, "attribute", PhysicalName=t.schema_name + "Id")
    sub(key, "Type", "primarykey")
    sub(key, "Name", t.primary_id)
    sub(key, "LogicalName", t.primary_id)
    sub(key, "RequiredLevel", "systemrequired")
    sub(key, "DisplayMask", "ValidForAdvancedFind|RequiredForGrid")
    flags(key, ValidForUpdateApi=False, ValidForReadApi=True, ValidForCreateApi=True)
    flags(key, IsCustomField=False, IsCustomizable=True)
    sub(key, "IntroducedVersion", INTRODUCED)
    localized(key, "displaynames", "displayname", t.display_name)
    localized(key, "Descriptions", "Description", "Unique identifier for entity instances")


def _write_state_attributes(attributes: ET.Element, t: Table) -> None:
    """statecode and statuscode with the Active/Inactive pair every new table gets."""
    for kind in ("state", "status"):
        name = kind + "code"
        attribute = sub(attributes, "attribute", PhysicalName=name)
        sub(attribute, "Type", kind)
        sub(attribute, "Name", name)
        sub(attribute, "LogicalName", name)
        sub(attribute, "RequiredLevel", "systemrequired" if kind == "state" else "none")
        sub(attribute, "DisplayMask", "ValidForAdvancedFind|ValidForForm|ValidForGrid")
        flags(attribute, IsCustomField=False, IsCustomizable=True)
        sub(attribute, "IntroducedVersion", INTRODUCED)
        option_set = sub(attribute, "optionset", Name=f"{t.logical_name}_{name}")
        sub(option_set, "OptionSetType", kind)
        sub(option_set, "IntroducedVersion", INTRODUCED)
        flags(option_set, IsCustomizable=True)
        label = "Status" if kind == "state" else "Status Reason"
        localized(option_set, "displaynames", "displayname", label)
        if kind == "state":
            states = sub(option_set, "states")
            _state(states, "state", "0", "Active", defaultstatus="1", invariantname="Active")
            _state(states, "state", "1", "Inactive", defaultstatus="2", invariantname="Inactive")
        else:
            statuses = sub(option_set, "statuses")
            _state(statuses, "status", "1", "Active", state="0")
            _state(statuses, "status", "2", "Inactive", state="1")
        localized(attribute, "displaynames", "displayname", label)


def _state(parent: ET.Element, tag: str, value: str, label: str, **attrs: str) -> None:
    element = sub(parent, tag, value=value, **attrs)
    sub(sub(element, "labels"), "label", description=label, languagecode=str(LANGUAGE))


def _write_relationship(parent: ET.Element, lookup: Lookup) -> None:
    relationship = sub(parent, "EntityRelationship", Name=lookup.relationship_name)
    sub(relationship, "EntityRelationshipType", "OneToMany")
    flags(relationship, IsCustomizable=True)
    sub(relationship, "IntroducedVersion", INTRODUCED)
    flags(relationship, IsHierarchical=False)
    sub(relationship, "ReferencingEntityName", entity_schema_name(lookup.referencing))
    sub(relationship, "ReferencedEntityName", entity_schema_name(lookup.referenced))
    for cascade in ("CascadeAssign", "CascadeReparent", "CascadeShare", "CascadeUnshare"):
        sub(relationship, cascade, "NoCascade")
    sub(relationship, "CascadeDelete", "RemoveLink")
    flags(relationship, IsValidForAdvancedFind=True)
    sub(relationship, "ReferencingAttributeName", lookup.column.schema_name)
    description = sub(relationship, "RelationshipDescription")
    localized(description, "Descriptions", "Description", lookup.column.description)
    roles = sub(relationship, "EntityRelationshipRoles")
    # Role type 1 is the referencing side: its single-valued navigation property is the
    # lookup's SchemaName. Type 0 is the referenced side: a collection named after the
    # relationship. (As in a real export; see reference/dataverse.md §8.)
    _role_side(roles, lookup.column.schema_name, 1, shown=True)
    _role_side(roles, lookup.relationship_name, 0, shown=False)


def _role_side(parent: ET.Element, navigation: str, role_type: int, *, shown: bool) -> None:
    role = sub(parent, "EntityRelationshipRole")
    sub(role, "NavPaneDisplayOption", "UseCollectionName" if shown else "DoNotDisplay")
    sub(role, "NavPaneArea", "Details")
    sub(role, "NavPaneOrder", 10000)
    sub(role, "NavigationPropertyName", navigation)
    sub(role, "RelationshipRoleType", role_type)


def role_privileges() -> tuple[tuple[str, str], ...]:
    """(privilege name, depth) for the integration role. Organisation-wide (Global) depth: the
    connector's application user works on every user's invoices, and change tracking needs
    organisation-level read. Invoice products have no privileges of their own (Dynamics governs
    them through the invoice's), so they add nothing beyond the invoice's."""
    names: list[str] = []
    for grant in INTEGRATION_ROLE:
        owner = "invoice" if grant.logical_name == "invoicedetail" else grant.logical_name
        rights = _READ_WRITE if grant.access is Access.READ_WRITE else ("Read",)
        entity = _PRIVILEGE_ENTITY.get(owner) or entity_schema_name(owner)
        names += [f"prv{right}{entity}" for right in rights]
    return tuple((name, "Global") for name in dict.fromkeys(names))


def _write_role(parent: ET.Element) -> None:
    role = sub(parent, "Role", name=INTEGRATION_ROLE_NAME, id=ROLE_ID)
    flags(role, IsCustomizable=True)
    sub(role, "IntroducedVersion", INTRODUCED)
    privileges = sub(role, "RolePrivileges")
    for name, level in role_privileges():
        sub(privileges, "RolePrivilege", name=name, level=level)
