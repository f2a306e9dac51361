"""Small helpers for writing solution XML with the standard library's ElementTree."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

LANGUAGE = 1033  # English (United States): the one language our labels are written in
XSI = "http://www.w3.org/2001/XMLSchema-instance"

# Every id in the solution is derived from a stable name, so rebuilding (or building a newer
# version) gives the same form, view and role ids and an import updates them in place.
_NAMESPACE = uuid.UUID("6f1f3c2e-4a8e-4d0b-9a44-d365e0000001")


def guid(*parts: str) -> str:
    """A GUID in the braced form solution files use, stable for the same parts."""
    return "{" + str(uuid.uuid5(_NAMESPACE, "/".join(parts))) + "}"


def sub(parent: ET.Element, tag: str, text: str | int | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = str(text)
    return element


def flags(parent: ET.Element, **values: bool) -> None:
    """Elements such as <IsCustomizable>1</IsCustomizable>, written as 0/1."""
    for tag, value in values.items():
        sub(parent, tag, int(value))


def localized(parent: ET.Element, container: str, item: str, text: str) -> ET.Element:
    """<LocalizedNames><LocalizedName description="..." languagecode="1033" /></...> and kin."""
    holder = sub(parent, container)
    sub(holder, item, description=text, languagecode=str(LANGUAGE))
    return holder


def to_bytes(root: ET.Element) -> bytes:
    ET.indent(root, space="  ")
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))
