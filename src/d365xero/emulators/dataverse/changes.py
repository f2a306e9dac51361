"""Change tracking: `Prefer: odata.track-changes`, @odata.deltaLink, changed rows then
`$deletedEntity` rows, the documented restrictions and token expiry.

PAD:use-change-tracking-synchronize-data-external-systems.md: the first call returns every row
and a deltaLink `...?$select=...&$deltatoken=919042%2108%2f22%2f2017%2008%3a10%3a44`; calling it
returns rows created or updated since (as normal entities) before deleted ones
(`{"@odata.context": ".../$metadata#accounts/$deletedEntity", "id": ..., "reason": "deleted"}`);
$filter, $orderby, $expand and $top are not supported; tokens expire after 7 days
(Organization.ExpireChangeTrackingInDays).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from d365xero.emulators.dataverse import shape
from d365xero.emulators.dataverse.errors import (
    ChangeTrackingError,
    ExpiredDeltaToken,
    QuerySyntaxError,
)
from d365xero.emulators.dataverse.metadata import Entity
from d365xero.emulators.dataverse.odata import parse_select

if TYPE_CHECKING:
    from d365xero.emulators.dataverse.webapi import ApiRequest, ApiResponse, WebApi

EXPIRE_DAYS = 7
_UNSUPPORTED = ("$filter", "$orderby", "$expand", "$top")
_TOKEN = re.compile(r"^(\d+)!(\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2})$")
_COOKIE = re.compile(r'pagenumber="(\d+)".*watermark="(\d+)"')


def _token(version: int, now: datetime) -> str:
    return f"{version}!{now.strftime('%m/%d/%Y %H:%M:%S')}"


def _parse_token(text: str, now: datetime) -> int:
    m = _TOKEN.match(text)
    if not m:
        raise QuerySyntaxError("The $deltatoken is not valid.")
    try:
        issued = datetime.strptime(m.group(2), "%m/%d/%Y %H:%M:%S").replace(tzinfo=UTC)
    except ValueError as exc:
        raise QuerySyntaxError("The $deltatoken is not valid.") from exc
    if now - issued > timedelta(days=EXPIRE_DAYS):
        raise ExpiredDeltaToken()
    return int(m.group(1))


def delta(
    api: WebApi, req: ApiRequest, entity: Entity, params: dict[str, str], prefer: dict[str, str]
) -> ApiResponse:
    from d365xero.emulators.dataverse.webapi import ApiResponse, _page_size

    org = api.org
    for option in _UNSUPPORTED:
        if option in params:
            raise ChangeTrackingError(
                f'The "{option}" query parameter isn\'t supported when Change Tracking is enabled.'
            )
    if not entity.change_tracking:
        raise ChangeTrackingError(
            f"Change tracking is not enabled for the entity '{entity.logical_name}'."
        )
    select = parse_select(params.get("$select"))
    shape.selected_attrs(entity, select)
    annotations = shape.Annotations.from_prefer(prefer.get("odata.include-annotations"))
    now = org.clock.now()
    context = f"{req.base}$metadata#{entity.entity_set}"
    if select:
        context += f"({','.join(select)})"
    body: dict[str, Any]
    if "$deltatoken" in params:
        since = _parse_token(params["$deltatoken"], now)
        changed = [r for r in org.rows(entity.logical_name) if r["versionnumber"] > since]
        changed.sort(key=lambda r: r["versionnumber"])
        deleted = [
            {
                "@odata.context": f"{req.base}$metadata#{entity.entity_set}/$deletedEntity",
                "id": record_id,
                "reason": "deleted",
            }
            for name, record_id, version in org.tombstones
            if name == entity.logical_name and version > since
        ]
        values = [shape.represent(org, entity, r, select, [], annotations) for r in changed]
        body = {"@odata.context": context + "/$delta", "value": values + deleted}
        body["@odata.deltaLink"] = _delta_link(req, entity, params, org.version, now)
        return ApiResponse.json(200, body, {"Preference-Applied": "odata.track-changes"})
    page, watermark = 1, org.version
    if "$skiptoken" in params:
        m = _COOKIE.search(params["$skiptoken"])
        if not m:
            raise QuerySyntaxError("The $skiptoken is not valid.")
        page, watermark = int(m.group(1)), int(m.group(2))
    rows = org.rows(entity.logical_name)
    size = _page_size(prefer.get("odata.maxpagesize")) or 5000
    window = rows[(page - 1) * size : page * size]
    body = {
        "@odata.context": context,
        "value": [shape.represent(org, entity, r, select, [], annotations) for r in window],
    }
    if page * size < len(rows):
        cookie = f'<cookie pagenumber="{page + 1}" watermark="{watermark}" istracking="True" />'
        query = {k: v for k, v in params.items() if k != "$skiptoken"}
        query["$skiptoken"] = cookie
        body["@odata.nextLink"] = (
            f"{req.base}{entity.entity_set}?{urlencode(query, quote_via=quote, safe='$,()')}"
        )
    else:
        body["@odata.deltaLink"] = _delta_link(req, entity, params, watermark, now)
    applied = ["odata.track-changes"]
    if "odata.maxpagesize" in prefer:
        applied.append(f"odata.maxpagesize={size}")
    return ApiResponse.json(200, body, {"Preference-Applied": ",".join(applied)})


def _delta_link(
    req: ApiRequest, entity: Entity, params: dict[str, str], version: int, now: datetime
) -> str:
    query = {k: v for k, v in params.items() if k not in ("$skiptoken", "$deltatoken")}
    query["$deltatoken"] = _token(version, now)
    return f"{req.base}{entity.entity_set}?{urlencode(query, quote_via=quote, safe='$,()')}"
