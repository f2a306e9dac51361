"""solution.xml (the solution manifest) and [Content_Types].xml, shaped like a real export
(reference/dataverse.md §8)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from d365xero.solution.customizations import ROLE_ID
from d365xero.solution.forms import SYSTEM_FORMS
from d365xero.solution.schema import (
    EXTENSIONS,
    OPTION_VALUE_PREFIX,
    PUBLISHER_PREFIX,
    SOLUTION_UNIQUE_NAME,
    TABLES,
    system_table,
)
from d365xero.solution.xmltools import LANGUAGE, XSI, flags, localized, sub, to_bytes

SOLUTION_DISPLAY_NAME = "d365xero: Dynamics 365 and Xero connector"
SOLUTION_DESCRIPTION = (
    "Tables, columns, forms, views and the integration security role the d365xero connector "
    "needs to keep Dynamics 365 invoices, customers and payments in step with Xero."
)
PUBLISHER_UNIQUE_NAME = "d365xero"
PUBLISHER_DISPLAY_NAME = "d365xero"
PUBLISHER_URL = "https://github.com/d365xero/d365xero"

# The platform version the package targets. 9.1 is what Dynamics 365 Customer Engagement
# on-premises 9.1 imports; Dataverse online imports packages of any earlier version too.
PACKAGE_VERSION = "9.1"

# Root component types (SolutionComponent.ComponentType): 1 table, 20 security role, 60 form.
ENTITY, ROLE, FORM = 1, 20, 60
# rootcomponentbehavior: 0 include subcomponents, 2 include as shell only.
INCLUDE_SUBCOMPONENTS, SHELL_ONLY = 0, 2


@dataclass(frozen=True)
class RootComponent:
    type: int
    behavior: int
    schema_name: str | None = None
    id: str | None = None


def root_components() -> tuple[RootComponent, ...]:
    """Our tables in full; the Dynamics tables we add columns to as shells; our forms on those
    tables; the integration role."""
    ours = [RootComponent(ENTITY, INCLUDE_SUBCOMPONENTS, t.logical_name) for t in TABLES]
    shells = [RootComponent(ENTITY, SHELL_ONLY, e.logical_name) for e in EXTENSIONS]
    forms = [RootComponent(FORM, INCLUDE_SUBCOMPONENTS, id=f.id) for f in SYSTEM_FORMS]
    return (*ours, *shells, *forms, RootComponent(ROLE, INCLUDE_SUBCOMPONENTS, id=ROLE_ID))


def solution_xml(version: str) -> bytes:
    root = ET.Element(
        "ImportExportXml",
        {
            "version": f"{PACKAGE_VERSION}.0.0",
            "SolutionPackageVersion": PACKAGE_VERSION,
            "languagecode": str(LANGUAGE),
            "generatedBy": "d365xero",
        },
    )
    manifest = sub(root, "SolutionManifest")
    sub(manifest, "UniqueName", SOLUTION_UNIQUE_NAME)
    localized(manifest, "LocalizedNames", "LocalizedName", SOLUTION_DISPLAY_NAME)
    localized(manifest, "Descriptions", "Description", SOLUTION_DESCRIPTION)
    sub(manifest, "Version", version)
    flags(manifest, Managed=False)
    _write_publisher(sub(manifest, "Publisher"))
    components = sub(manifest, "RootComponents")
    for c in root_components():
        element = sub(components, "RootComponent", type=str(c.type))
        if c.schema_name:
            element.set("schemaName", c.schema_name)
        if c.id:
            element.set("id", c.id)
        element.set("behavior", str(c.behavior))
    sub(manifest, "MissingDependencies")
    return to_bytes(root)


def _write_publisher(publisher: ET.Element) -> None:
    sub(publisher, "UniqueName", PUBLISHER_UNIQUE_NAME)
    localized(publisher, "LocalizedNames", "LocalizedName", PUBLISHER_DISPLAY_NAME)
    localized(publisher, "Descriptions", "Description", "Publisher of the d365xero connector.")
    sub(publisher, "EMailAddress").set(f"{{{XSI}}}nil", "true")
    sub(publisher, "SupportingWebsiteUrl", PUBLISHER_URL)
    sub(publisher, "CustomizationPrefix", PUBLISHER_PREFIX)
    sub(publisher, "CustomizationOptionValuePrefix", OPTION_VALUE_PREFIX)
    addresses = sub(publisher, "Addresses")
    for number in (1, 2):  # an export always carries the publisher's two address slots
        address = sub(addresses, "Address")
        sub(address, "AddressNumber", number)


def content_types_xml() -> bytes:
    root = ET.Element(
        "Types", {"xmlns": "http://schemas.openxmlformats.org/package/2006/content-types"}
    )
    sub(root, "Default", Extension="xml", ContentType="application/octet-stream")
    return to_bytes(root)


def component_label(c: RootComponent) -> str:
    """A line for people: what a root component is."""
    if c.type == ENTITY:
        if c.behavior == SHELL_ONLY:
            return f"columns on {system_table(c.schema_name or '').display_name}"
        return f"table {c.schema_name}"
    if c.type == FORM:
        form = next(f for f in SYSTEM_FORMS if f.id == c.id)
        return f"form '{form.name}' on {form.table}"
    return "security role"
