"""The Web API's ImportSolution action: `POST /api/data/v9.2/ImportSolution` with
`{"CustomizationFile": <base64 zip>, "OverwriteUnmanagedCustomizations": bool,
"PublishWorkflows": bool, "ImportJobId": <guid>}` answers 204 No Content (the action returns
nothing; ImportSolution Action reference, Dynamics 365 Web API).

It creates the tables and columns the solution defines, so an emulator started with
`create_app(with_solution=False)` ends up as one started with our tables. Importing again, a
newer version adds what is new and keeps every row and value, as an unmanaged solution upgrade
does in Dynamics.

Known differences: only the d365xero solution can be imported (another solution, or a d365xero
solution newer than this code understands, is refused with InvalidArgument); forms, views and the
security role are read but not modelled; a lower version than the installed one is not refused.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from d365xero.emulators.dataverse.errors import DataverseError, InvalidArgument, InvalidJson
from d365xero.emulators.dataverse.metadata import (
    Entity,
    Metadata,
    solution_attr,
)
from d365xero.emulators.dataverse.models import Organisation
from d365xero.emulators.dataverse.routes import _authorize, _to_starlette
from d365xero.emulators.dataverse.systemtables import _common, solution_table
from d365xero.emulators.dataverse.webapi import API, ApiResponse
from d365xero.solution.reader import Refusal, SolutionPackage, SolutionRejected, read_solution
from d365xero.solution.schema import Column, Table, TableExtension

# What current Dataverse online imports: packages written for 9.2 or any earlier version.
PLATFORM_PACKAGE_VERSION = (9, 2)
FIRST_CUSTOM_TYPE_CODE = 10000
_REQUIRED = ("OverwriteUnmanagedCustomizations", "PublishWorkflows", "CustomizationFile")


class InvalidSolutionFile(DataverseError):
    """Not a zip, damaged, or without the three root files (error 80048060, as Power Apps shows
    it for such files; github.com/aprildunnam/PowerApps issue 3)."""

    def __init__(self) -> None:
        super().__init__(
            400,
            "0x80048060",
            "The solution file is invalid. The compressed file must contain the following "
            "files at its root: solution.xml, customizations.xml, and [Content_Types].xml. "
            "Customization files exported from previous versions of Microsoft Dynamics 365 are "
            "not supported.",
        )


class PackageVersionTooNew(DataverseError):
    """ImportSolutionPackageInvalidSolutionPackageVersion, -2147188632 = 0x80048068 (the
    platform's error list, as mirrored in FakeXrmEasy's ErrorCodes)."""

    def __init__(self) -> None:
        major, minor = PLATFORM_PACKAGE_VERSION
        super().__init__(
            400,
            "0x80048068",
            f"You can only import solutions with a package version of {major}.{minor} or earlier "
            "into this organization. Also, you can't import any solutions into this organization "
            "that were exported from Microsoft Dynamics 365 2011 or earlier.",
        )


def import_solution(org: Organisation, body: bytes) -> SolutionPackage:
    package = _read(_customization_file(body))
    install(org, package)
    return package


def _customization_file(body: bytes) -> bytes:
    try:
        params: Any = json.loads(body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidJson("ImportSolution", str(exc)) from exc
    if not isinstance(params, dict):
        raise InvalidJson("ImportSolution", "The request body must be a JSON object.")
    for name in (*_REQUIRED, "ImportJobId"):
        if params.get(name) is None:
            # The organization service's wording for a missing request parameter (unverified
            # for the Web API, which may phrase it as an OData error).
            raise InvalidArgument(f"Required field '{name}' is missing")
    try:
        uuid.UUID(str(params["ImportJobId"]))
    except ValueError as exc:
        raise InvalidArgument("ImportJobId must be a GUID") from exc
    text = params["CustomizationFile"]
    if not isinstance(text, str):
        raise InvalidSolutionFile()
    try:
        # Edm.Binary: base64 (or OData's base64url).
        return base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSolutionFile() from exc


def _read(data: bytes) -> SolutionPackage:
    try:
        package = read_solution(data)
    except SolutionRejected as exc:
        if exc.reason in (Refusal.NOT_A_ZIP, Refusal.CORRUPT):
            raise InvalidSolutionFile() from exc
        raise InvalidArgument(f"The emulator imports only d365xero's own solution: {exc}") from exc
    if _package_version(package.package_version) > PLATFORM_PACKAGE_VERSION:
        raise PackageVersionTooNew()
    return package


def _package_version(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(".")[:2])
    except ValueError:
        raise InvalidSolutionFile() from None


def install(org: Organisation, package: SolutionPackage) -> None:
    """Adds the package's tables and columns to the organisation; what exists is kept."""
    with org.lock:
        added: dict[str, list[str]] = {}
        for table in package.tables:
            added[table.logical_name] = _install_table(org.metadata, table)
            org.tables.setdefault(table.logical_name, {})
        for extension in package.extensions:
            added[extension.logical_name] = _install_extension(org.metadata, extension)
        org.metadata.link()
        for entity, names in added.items():
            for row in org.rows(entity):
                for name in names:
                    row.setdefault(name, None)  # rows from before the upgrade: column empty


def _install_table(metadata: Metadata, table: Table) -> list[str]:
    if table.logical_name not in metadata.entities:
        entity = solution_table(table, _next_type_code(metadata))
        metadata.add(entity)
        return list(entity.attributes)
    return _add_columns(metadata.get(table.logical_name), table.logical_name, table.all_columns)


def _install_extension(metadata: Metadata, extension: TableExtension) -> list[str]:
    entity = metadata.get(extension.logical_name)
    names = _add_columns(entity, extension.logical_name, extension.columns)
    _common(entity)
    return names


def _add_columns(entity: Entity, table: str, columns: tuple[Column, ...]) -> list[str]:
    new = [c for c in columns if c.logical_name not in entity.attributes]
    for column in new:
        entity.add(solution_attr(table, column))
    return [c.logical_name for c in new]


def _next_type_code(metadata: Metadata) -> int:
    custom = [e.object_type_code for e in metadata.entities.values() if e.custom]
    return max(custom, default=FIRST_CUSTOM_TYPE_CODE - 1) + 1


def import_routes(org: Organisation) -> list[BaseRoute]:
    async def import_solution_action(request: Request) -> Response:
        caller = _authorize(org, request)  # the caller's user id, or Dataverse's 401
        if isinstance(caller, Response):
            return caller
        try:
            import_solution(org, await request.body())
        except DataverseError as err:
            return _to_starlette(ApiResponse.error(err))
        return Response(status_code=204, headers={"OData-Version": "4.0"})

    return [Route(f"{API}/ImportSolution", import_solution_action, methods=["POST"])]
