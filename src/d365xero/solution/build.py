"""Builds the importable solution zip: [Content_Types].xml, solution.xml, customizations.xml."""

from __future__ import annotations

import io
import re
import zipfile

from d365xero.errors import ConfigurationError
from d365xero.solution.customizations import customizations_xml
from d365xero.solution.manifest import content_types_xml, solution_xml
from d365xero.solution.schema import SOLUTION_VERSION

CONTENT_TYPES = "[Content_Types].xml"
SOLUTION = "solution.xml"
CUSTOMIZATIONS = "customizations.xml"

# Dataverse solution versions are major.minor[.build[.revision]], each part a number.
VERSION_PATTERN = re.compile(r"[0-9]+(\.[0-9]+){1,3}")

# A fixed timestamp for every member, so the same version always builds the same bytes.
_STAMP = (2020, 1, 1, 0, 0, 0)


def check_version(version: str) -> str:
    if not VERSION_PATTERN.fullmatch(version):
        raise ConfigurationError(
            f"'{version}' is not a solution version: use major.minor.build.revision, e.g. 1.0.0.0"
        )
    return version


def build_solution(version: str = SOLUTION_VERSION) -> bytes:
    """The solution zip, ready for Dynamics 365's Import solution."""
    check_version(version)
    parts = (
        (CONTENT_TYPES, content_types_xml()),
        (SOLUTION, solution_xml(version)),
        (CUSTOMIZATIONS, customizations_xml()),
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts:
            archive.writestr(zipfile.ZipInfo(name, _STAMP), data, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()
