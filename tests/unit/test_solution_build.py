"""The solution zip: its parts, the manifest's structure, and that everything in it comes from
schema.py."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile

import pytest

from d365xero.errors import ConfigurationError
from d365xero.solution import schema
from d365xero.solution.build import build_solution
from d365xero.solution.customizations import role_privileges
from d365xero.solution.forms import INVOICE_CONNECTOR, Subgrid
from d365xero.solution.reader import read_solution
from d365xero.solution.views import FAILED_EXPORTS, SYNC_HISTORY_NEWEST_FIRST


def _parts(data: bytes) -> dict[str, ET.Element]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: ET.fromstring(archive.read(name)) for name in archive.namelist()}


@pytest.fixture(scope="module")
def parts() -> dict[str, ET.Element]:
    return _parts(build_solution())


def test_zip_holds_exactly_the_three_parts_of_an_export(parts: dict[str, ET.Element]) -> None:
    assert sorted(parts) == ["[Content_Types].xml", "customizations.xml", "solution.xml"]


def test_content_types_declares_xml_parts(parts: dict[str, ET.Element]) -> None:
    types = parts["[Content_Types].xml"]
    ns = "{http://schemas.openxmlformats.org/package/2006/content-types}"
    assert types.tag == f"{ns}Types"
    default = types.find(f"{ns}Default")
    assert default is not None
    assert default.attrib == {"Extension": "xml", "ContentType": "application/octet-stream"}


def test_manifest_has_the_structure_of_a_real_export(parts: dict[str, ET.Element]) -> None:
    root = parts["solution.xml"]
    assert root.tag == "ImportExportXml"
    assert root.get("SolutionPackageVersion") == "9.1"
    assert root.get("languagecode") == "1033"
    manifest = root.find("SolutionManifest")
    assert manifest is not None
    assert [child.tag for child in manifest] == [
        "UniqueName",
        "LocalizedNames",
        "Descriptions",
        "Version",
        "Managed",
        "Publisher",
        "RootComponents",
        "MissingDependencies",
    ]
    assert manifest.findtext("UniqueName") == "d365xero"
    assert manifest.findtext("Version") == schema.SOLUTION_VERSION
    assert manifest.findtext("Managed") == "0"
    assert manifest.findtext("Publisher/CustomizationPrefix") == "dxc"
    assert manifest.findtext("Publisher/CustomizationOptionValuePrefix") == "10000"
    name = manifest.find("LocalizedNames/LocalizedName")
    assert name is not None and name.get("languagecode") == "1033" and name.get("description")


def test_root_components_cover_every_table_form_and_the_role(
    parts: dict[str, ET.Element],
) -> None:
    components = parts["solution.xml"].findall("SolutionManifest/RootComponents/RootComponent")
    entities = {c.get("schemaName"): c.get("behavior") for c in components if c.get("type") == "1"}
    assert entities == {
        **{t.logical_name: "0" for t in schema.TABLES},
        **{e.logical_name: "2" for e in schema.EXTENSIONS},
    }
    form_ids = {c.get("id") for c in components if c.get("type") == "60"}
    assert INVOICE_CONNECTOR.id in form_ids and len(form_ids) == 3
    roles = [c for c in components if c.get("type") == "20"]
    role = parts["customizations.xml"].find("Roles/Role")
    assert role is not None and [r.get("id") for r in roles] == [role.get("id")]


def test_customizations_read_back_as_exactly_the_schema() -> None:
    package = read_solution(build_solution())
    assert package.tables == schema.TABLES
    assert package.extensions == schema.EXTENSIONS


def test_every_connector_setting_carries_its_explanation(parts: dict[str, ET.Element]) -> None:
    entity = parts["customizations.xml"].find(
        "Entities/Entity/EntityInfo/entity[@Name='dxc_Setting']"
    )
    assert entity is not None
    for column in schema.SETTING.columns:
        attribute = entity.find(f"attributes/attribute[@PhysicalName='{column.schema_name}']")
        assert attribute is not None
        description = attribute.find("Descriptions/Description")
        assert description is not None
        assert description.get("description") == column.description
        assert len(column.description) > 20


def test_option_values_carry_the_publisher_prefix(parts: dict[str, ET.Element]) -> None:
    values = [
        int(o.get("value", "0"))
        for o in parts["customizations.xml"].iter("option")
        if o.get("value") not in ("0", "1")  # Yes/No columns are 0/1 in Dataverse
    ]
    assert values and all(v // 10000 == schema.OPTION_VALUE_PREFIX for v in values)
    assert schema.EXPORT_FAILED.value in values


def test_every_lookup_has_a_relationship_with_its_navigation_properties(
    parts: dict[str, ET.Element],
) -> None:
    relationships = {
        r.get("Name"): r for r in parts["customizations.xml"].iter("EntityRelationship")
    }
    assert len(relationships) == len(schema.lookups())
    for lookup in schema.lookups():
        rel = relationships[lookup.relationship_name]
        assert rel.findtext("ReferencingAttributeName") == lookup.column.schema_name
        navigation = {
            role.findtext("RelationshipRoleType"): role.findtext("NavigationPropertyName")
            for role in rel.iter("EntityRelationshipRole")
        }
        assert navigation == {"1": lookup.column.schema_name, "0": lookup.relationship_name}


def test_deleting_an_invoice_keeps_its_xero_details_and_their_history(
    parts: dict[str, ET.Element],
) -> None:
    relationships = {
        r.get("Name"): r for r in parts["customizations.xml"].iter("EntityRelationship")
    }
    by_column = {(lk.referencing, lk.column.logical_name): lk for lk in schema.lookups()}
    detail = by_column[("dxc_xerodetail", "dxc_invoiceid")]
    history = by_column[("dxc_synchistory", "dxc_xerodetailid")]
    assert history.referenced == "dxc_xerodetail"
    for lookup in (detail, history, by_column[("dxc_synchistory", "dxc_invoiceid")]):
        assert relationships[lookup.relationship_name].findtext("CascadeDelete") == "RemoveLink"


def test_change_tracking_is_on_where_the_connector_reads(parts: dict[str, ET.Element]) -> None:
    entities = {e.get("Name"): e for e in parts["customizations.xml"].iter("entity")}
    for t in schema.TABLES:
        assert entities[t.schema_name].findtext("ChangeTrackingEnabled") == "1"
    invoice = entities["Invoice"]
    assert invoice.findtext("ChangeTrackingEnabled") == "1"
    assert invoice.get("unmodified") is None  # change tracking is an entity setting
    label = invoice.find("LocalizedCollectionNames/LocalizedCollectionName")
    assert label is not None and label.get("description") == "Invoices"  # Microsoft's, kept
    for shell in ("InvoiceDetail", "Account", "Contact"):
        assert entities[shell].get("unmodified") == "1"


def test_role_has_exactly_the_privileges_the_seed_lists_and_currency_read() -> None:
    privileges = dict(role_privileges())
    assert set(privileges.values()) == {"Global"}
    read_write = ("Create", "Read", "Write", "Append", "AppendTo")
    expected = {f"prv{r}{e}" for e in ("Invoice", "Account", "Contact") for r in read_write}
    expected |= {f"prv{r}{t.schema_name}" for t in schema.TABLES for r in read_write}
    expected |= {"prvReadProduct", "prvReadUser"}
    expected |= {"prvReadTransactionCurrency"}  # the connector reads the invoice's currency
    assert set(privileges) == expected  # invoice products: governed by the invoice's


def test_invoice_connector_form_is_laid_out_like_the_seed() -> None:
    sections = {s.label: s for s in INVOICE_CONNECTOR.sections}
    connector = [getattr(i, "column", None) for i in sections["Connector"].items]
    assert connector == [c.logical_name for c in schema.EXTENSIONS[0].columns]
    assert "dxc_amountdue" in connector
    grids = [i for s in INVOICE_CONNECTOR.sections for i in s.items if isinstance(i, Subgrid)]
    assert {g.lookup.referencing for g in grids} >= {"dxc_xerodetail", "dxc_synchistory"}
    history = next(g for g in grids if g.lookup.referencing == "dxc_synchistory")
    assert history.view == SYNC_HISTORY_NEWEST_FIRST


def test_forms_reference_only_views_and_relationships_that_exist(
    parts: dict[str, ET.Element],
) -> None:
    root = parts["customizations.xml"]
    view_ids = {q.findtext("savedqueryid") for q in root.iter("savedquery")}
    relationships = {r.get("Name") for r in root.iter("EntityRelationship")}
    grids = [p for p in root.iter("parameters") if p.find("ViewId") is not None]
    assert len(grids) == 3
    for params in grids:
        assert params.findtext("ViewId") in view_ids
        assert params.findtext("RelationshipName") in relationships


def test_account_and_contact_forms_show_what_is_owed(parts: dict[str, ET.Element]) -> None:
    for entity in ("Account", "Contact"):
        holder = next(
            e for e in parts["customizations.xml"].iter("Entity") if e.findtext("Name") == entity
        )
        fields = {c.get("datafieldname") for c in holder.iter("control")}
        assert {"dxc_amountowed", "dxc_amountoverdue"} <= fields


def test_views_sort_and_filter_as_named(parts: dict[str, ET.Element]) -> None:
    queries = {
        q.findtext("savedqueryid"): q for q in parts["customizations.xml"].iter("savedquery")
    }
    history = queries[SYNC_HISTORY_NEWEST_FIRST.id].find("fetchxml/fetch/entity/order")
    assert history is not None
    assert history.attrib == {"attribute": "dxc_eventdate", "descending": "true"}
    failed = queries[FAILED_EXPORTS.id].findall("fetchxml/fetch/entity/filter/condition")
    assert {"attribute": "dxc_exportstatus", "operator": "eq", "value": "100000002"} in [
        c.attrib for c in failed
    ]


def test_same_version_builds_the_same_bytes() -> None:
    assert build_solution("1.2.0.0") == build_solution("1.2.0.0")


def test_version_is_written_and_checked() -> None:
    assert read_solution(build_solution("1.3.0.7")).version == "1.3.0.7"
    for bad in ("1", "one.0", "1.0.0.0.0", "1.0-beta"):
        with pytest.raises(ConfigurationError, match="not a solution version"):
            build_solution(bad)
