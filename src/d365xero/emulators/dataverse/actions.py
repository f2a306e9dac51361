"""Collection-bound bulk actions: `POST /<set>/Microsoft.Dynamics.CRM.CreateMultiple`,
`UpdateMultiple`, `UpsertMultiple` with `{"Targets": [...]}`, each all-or-nothing.

PAD:bulk-operations.md (CreateMultiple returns `{"Ids": [...]}`; UpdateMultiple returns nothing;
each target carries `@odata.type`; UpsertMultiple targets name their record with `@odata.id`);
the shapes Microsoft's SDK sends (PYSDK data/_odata.py `_create_multiple`, `_upsert_multiple`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from d365xero.emulators.dataverse.errors import PayloadError, ResourceNotFound
from d365xero.emulators.dataverse.metadata import Entity
from d365xero.emulators.dataverse.payload import load_json

if TYPE_CHECKING:
    from d365xero.emulators.dataverse.webapi import ApiRequest, ApiResponse, WebApi

PREFIX = "Microsoft.Dynamics.CRM."
_KEYED = re.compile(r"^(?:.*/)?([A-Za-z_]\w*)\((.*)\)$")


def bound_action(api: WebApi, req: ApiRequest, entity: Entity, name: str) -> ApiResponse:
    from d365xero.emulators.dataverse.webapi import ApiResponse

    action = name.removeprefix(PREFIX)
    if req.method != "POST" or action not in ("CreateMultiple", "UpdateMultiple", "UpsertMultiple"):
        raise ResourceNotFound(name)
    targets = _targets(req, entity)
    context = f"{req.base}$metadata#{PREFIX}{action}Response"
    with api.org.transaction():
        if action == "CreateMultiple":
            ids = [api.create_deep(entity, t) for t in targets]
            return ApiResponse.json(200, {"@odata.context": context, "Ids": ids})
        if action == "UpdateMultiple":
            for target in targets:
                record_id = target.pop(entity.primary_id, None)
                if not isinstance(record_id, str):
                    raise PayloadError(
                        entity.entity_set,
                        f"Each target of UpdateMultiple needs its '{entity.primary_id}'.",
                    )
                api.update_record(entity, record_id, target)
            return ApiResponse(204, {"OData-Version": "4.0"})
        results = [_upsert(api, entity, t) for t in targets]
        return ApiResponse.json(200, {"@odata.context": context, "Results": results})


def _targets(req: ApiRequest, entity: Entity) -> list[dict[str, Any]]:
    data = load_json(req.body, entity.entity_set)
    targets = data.get("Targets")
    if not isinstance(targets, list) or not targets:
        raise PayloadError(entity.entity_set, "The 'Targets' parameter must be a non-empty array.")
    expected = f"{PREFIX}{entity.logical_name}"
    for target in targets:
        if not isinstance(target, dict):
            raise PayloadError(entity.entity_set, "Each target must be an entity object.")
        kind = str(target.pop("@odata.type", expected)).lstrip("#")
        if kind != expected:
            raise PayloadError(entity.entity_set, f"The target type '{kind}' is not '{expected}'.")
    return targets


def _upsert(api: WebApi, entity: Entity, target: dict[str, Any]) -> dict[str, Any]:
    uri = target.pop("@odata.id", None)
    record_id: str | None = target.pop(entity.primary_id, None)
    key_values: dict[str, Any] = {}
    if isinstance(uri, str):
        m = _KEYED.match(uri)
        if not m:
            raise PayloadError(entity.entity_set, f"The @odata.id '{uri}' is not a record URI.")
        record_id, _, key_values = api.resolve_key(entity, m.group(2))
    elif record_id is not None:
        record_id, _, key_values = api.resolve_key(entity, record_id)
    existing = api.org.find(entity.logical_name, record_id) if record_id else None
    if existing is None:
        new_id = api.create_deep(entity, {**key_values, **target}, record_id)
        return {"RecordCreated": True, "Target": _reference(entity, new_id)}
    api.update_record(entity, existing[entity.primary_id], target)
    return {"RecordCreated": False, "Target": _reference(entity, existing[entity.primary_id])}


def _reference(entity: Entity, record_id: str) -> dict[str, Any]:
    return {"@odata.type": f"#{PREFIX}{entity.logical_name}", entity.primary_id: record_id}
