"""The application user's security role: which table privileges it lacks (none, by default: the
solution's role is assigned), and Dataverse's PrivilegeDenied answer when a request needs one.

A privilege is `prv<Operation><table SchemaName>` (prvCreate, prvRead, prvWrite, prvDelete); an
upsert that creates a row needs Create, one that changes a row Write. The 403 body names the
privilege and the table, e.g. "Principal user (Id=..., type=8, roleCount=4, privilegeCount=783,
accessMode=0), is missing prvReadac_articledudossier privilege (Id=...) on OTC=10725 for entity
'ac_articledudossier' (LocalizedName='Article du séjour'). context.Caller=..." (quoted in
rappen/FetchXMLBuilder#770; code 0x80040220 PrivilegeDenied, reference/dataverse.md §3).
"""

from __future__ import annotations

import json
import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from d365xero.emulators.dataverse.errors import DataverseError
from d365xero.emulators.dataverse.metadata import Entity

OPERATIONS = {"GET": "Read", "POST": "Create", "PATCH": "Write", "PUT": "Write", "DELETE": "Delete"}


class PrivilegeDenied(DataverseError):
    def __init__(self, user_id: str, privilege: str, entity: Entity) -> None:
        privilege_id = uuid.uuid5(uuid.NAMESPACE_URL, f"privilege:{privilege.lower()}")
        super().__init__(
            403,
            "0x80040220",
            f"Principal user (Id={user_id}, type=8, roleCount=1, privilegeCount=1021, "
            f"accessMode=0), is missing {privilege} privilege (Id={privilege_id}) on "
            f"OTC={entity.object_type_code} for entity '{entity.logical_name}' "
            f"(LocalizedName='{entity.display_name}'). context.Caller={user_id}",
        )


class Security:
    def __init__(self) -> None:
        self.revoked: set[str] = set()  # privilege names, lower case

    def reset(self) -> None:
        self.revoked.clear()

    def check(self, user_id: str | None, operation: str, entity: Entity) -> None:
        privilege = f"prv{operation}{entity.schema_name}"
        if privilege.lower() in self.revoked:
            raise PrivilegeDenied(user_id or "", privilege, entity)


def security_routes(security: Security) -> list[Route]:
    """`POST /_emulator/privileges {"revoke": [...], "grant": [...]}` changes the application
    user's role; GET lists what it lacks."""

    async def privileges(request: Request) -> Response:
        if request.method == "POST":
            try:
                body = json.loads(await request.body() or b"{}")
                revoke, grant = list(body.get("revoke", [])), list(body.get("grant", []))
            except (ValueError, TypeError, AttributeError):
                return JSONResponse(
                    {"error": 'expected JSON {"revoke": [names], "grant": [names]}'},
                    status_code=400,
                )
            security.revoked |= {str(p).lower() for p in revoke}
            security.revoked -= {str(p).lower() for p in grant}
        return JSONResponse({"revoked": sorted(security.revoked)})

    return [Route("/_emulator/privileges", privileges, methods=["GET", "POST"])]
