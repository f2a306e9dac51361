"""The Web API v9.2 as a plain function of a request: routes.py and $batch both call
`WebApi.handle`, so a request inside a batch behaves exactly as one sent alone.

Sources: PAD:webapi/create-entity-web-api.md, update-delete-entities-using-web-api.md,
perform-conditional-operations-using-web-api.md, query/*.md, reference/dataverse.md §1.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode

from d365xero.emulators.dataverse import actions, changes, definitions, shape
from d365xero.emulators.dataverse.errors import (
    DataverseError,
    DuplicateRecord,
    MethodNotAllowed,
    NotSupported,
    ObjectDoesNotExist,
    PayloadError,
    PropertyNotFound,
    QuerySyntaxError,
    ResourceNotFound,
    UrlTooLong,
)
from d365xero.emulators.dataverse.metadata import Entity
from d365xero.emulators.dataverse.models import (
    BUSINESS_UNIT_ID,
    Organisation,
    Ref,
    Row,
    etag,
)
from d365xero.emulators.dataverse.odata import (
    GUID_RE,
    Evaluator,
    Prop,
    order_rows,
    parse_expand,
    parse_filter,
    parse_orderby,
    parse_select,
    parse_top,
)
from d365xero.emulators.dataverse.payload import Payload, coerce, load_json, read, reference
from d365xero.emulators.dataverse.security import OPERATIONS

API = "/api/data/v9.2"
MAX_PAGE = 5000
MAX_URL, MAX_BATCH_URL = 32_768, 65_536
QUERY_OPTIONS = {
    "$select",
    "$filter",
    "$orderby",
    "$top",
    "$expand",
    "$count",
    "$skiptoken",
    "$deltatoken",
}
_SEGMENT = re.compile(r"^(?P<name>[A-Za-z_][\w.]*)(?:\((?P<key>.*)\))?$")
_JSON = "application/json; odata.metadata=minimal"


@dataclass
class ApiRequest:
    method: str
    path: str  # after /api/data/v9.2/
    query: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    org_url: str
    user_id: str | None = None  # the caller, from the access token's oid

    @property
    def base(self) -> str:
        return f"{self.org_url}{API}/"

    def params(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in parse_qsl(self.query, keep_blank_values=True):
            out[key] = value
        return out

    def prefer(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for part in _split_prefer(self.headers.get("prefer", "")):
            key, _, value = part.partition("=")
            out[key.strip()] = value.strip()
        return out


def _split_prefer(header: str) -> list[str]:
    parts, quoted, start = [], False, 0
    for i, ch in enumerate(header):
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            parts.append(header[start:i])
            start = i + 1
    parts.append(header[start:])
    return [p.strip() for p in parts if p.strip()]


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @classmethod
    def json(cls, status: int, data: Any, headers: dict[str, str] | None = None) -> ApiResponse:
        return cls(
            status,
            {"Content-Type": _JSON, "OData-Version": "4.0", **(headers or {})},
            json.dumps(data, ensure_ascii=False).encode(),
        )

    @classmethod
    def error(cls, err: DataverseError) -> ApiResponse:
        headers = {}
        retry = getattr(err, "retry_after", None)
        if retry is not None:
            headers["Retry-After"] = str(retry)
        return cls.json(err.status, err.body(), headers)


class WebApi:
    def __init__(self, org: Organisation) -> None:
        self.org = org

    def handle(self, req: ApiRequest, max_url: int = MAX_URL) -> ApiResponse:
        try:
            if len(req.base) + len(req.path) + len(req.query) + 1 > max_url:
                raise UrlTooLong(max_url)
            with self.org.lock:
                return self._route(req)
        except DataverseError as err:
            return ApiResponse.error(err)

    # --- routing ---------------------------------------------------------------------------

    def _route(self, req: ApiRequest) -> ApiResponse:
        for key in req.params():
            if key.startswith("$") and key not in QUERY_OPTIONS:
                raise QuerySyntaxError(f"The query parameter {key} is not supported")
        path = req.path.strip("/")
        if path == "":
            return self._service_document(req)
        if path == "$metadata":
            return definitions.csdl(self.org, req)
        if path in ("WhoAmI", "WhoAmI()"):
            if req.method != "GET":
                # Troubleshoot Web API client errors: WhoAmI is a function, GET only.
                raise DataverseError(
                    404,
                    "0x80060888",
                    f"No HTTP resource was found that matches the request URI '{req.base}WhoAmI'.",
                )
            return self._who_am_i(req)
        segments = [unquote(s) for s in _split_path(path)]
        if segments[0].startswith("EntityDefinitions"):
            return definitions.entity_definitions(self.org, req, segments)
        m = _SEGMENT.match(segments[0])
        if not m or m.group("name") not in self.org.metadata.by_set:
            raise ResourceNotFound(segments[0].split("(")[0])
        entity = self.org.metadata.by_set[m.group("name")]
        key = m.group("key")
        rest = segments[1:]
        if key is None:
            return self._collection(req, entity, rest)
        return self._record(req, entity, key, rest)

    def _collection(self, req: ApiRequest, entity: Entity, rest: list[str]) -> ApiResponse:
        if req.method in ("GET", "POST") and not (rest and rest[0].startswith(actions.PREFIX)):
            self.org.security.check(req.user_id, OPERATIONS[req.method], entity)
        if rest == ["$count"] and req.method == "GET":
            rows = self._query_rows(req, entity, req.params())
            return ApiResponse(
                200,
                {"Content-Type": "text/plain", "OData-Version": "4.0"},
                str(min(len(rows), MAX_PAGE)).encode(),
            )
        if len(rest) == 1 and rest[0].startswith(actions.PREFIX):
            return actions.bound_action(self, req, entity, rest[0])
        if rest:
            raise ResourceNotFound(rest[0])
        if req.method == "GET":
            return self._list(req, entity)
        if req.method == "POST":
            return self._create(req, entity)
        raise MethodNotAllowed(req.method)

    def _record(self, req: ApiRequest, entity: Entity, key: str, rest: list[str]) -> ApiResponse:
        record_id, found, key_values = self.resolve_key(entity, key)
        if req.method in OPERATIONS:
            operation = OPERATIONS[req.method]
            if req.method == "PATCH" and not rest and not found:
                operation = "Create"  # an upsert that makes the row
            self.org.security.check(req.user_id, operation, entity)
        if not rest:
            if req.method == "GET":
                return self._retrieve(req, entity, record_id)
            if req.method == "PATCH":
                return self._patch(req, entity, record_id, found, key_values)
            if req.method == "DELETE":
                row = self._existing(entity, record_id)
                self.org.delete(
                    entity.logical_name, row[entity.primary_id], req.headers.get("if-match")
                )
                return ApiResponse(204, {"OData-Version": "4.0"})
            raise MethodNotAllowed(req.method)
        row = self._existing(entity, record_id)
        name = rest[0]
        if len(rest) == 2 and rest[1] == "$ref":
            return self._ref(req, entity, row, name)
        if len(rest) > 1:
            raise ResourceNotFound(rest[1])
        if name in entity.single_navs or name in entity.collection_navs:
            if req.method != "GET":
                raise MethodNotAllowed(req.method)
            return self._navigate(req, entity, row, name)
        return self._property(req, entity, row, name)

    def resolve_key(self, entity: Entity, key: str) -> tuple[str | None, bool, dict[str, Any]]:
        """A GUID, `primaryid=<guid>` or an alternate key `col='value',...`: the record's id (if
        known), whether it exists, and the alternate key's values."""
        key = key.strip()
        if GUID_RE.match(key):
            return key.lower(), self.org.find(entity.logical_name, key) is not None, {}
        pairs = {}
        for part in key.split(","):
            name, sep, value = part.partition("=")
            if not sep:
                raise QuerySyntaxError()
            pairs[name.strip()] = value.strip()
        if list(pairs) == [entity.primary_id] and GUID_RE.match(pairs[entity.primary_id]):
            record_id = pairs[entity.primary_id].lower()
            return record_id, self.org.find(entity.logical_name, record_id) is not None, {}
        values: dict[str, Any] = {}
        for name, raw in pairs.items():
            attr = entity.attributes.get(name)
            if attr is None:
                raise PropertyNotFound(name, entity.logical_name)
            values[name] = raw[1:-1].replace("''", "'") if raw.startswith("'") else _literal(raw)
        if tuple(sorted(values)) not in {tuple(sorted(k)) for k in entity.keys.values()}:
            raise DataverseError(
                400,
                "0x80060891",
                f"A record with the specified key values does not exist in {entity.logical_name} "
                "entity",
            )
        row = self.org.find_by_key(entity.logical_name, values)
        return (row[entity.primary_id] if row else None), row is not None, values

    def _existing(self, entity: Entity, record_id: str | None) -> Row:
        if record_id is None:
            raise DataverseError(
                404,
                "0x80060891",
                "A record with the specified key values does not exist in "
                f"{entity.logical_name} entity",
            )
        return self.org.get(entity.logical_name, record_id)

    # --- reads -----------------------------------------------------------------------------

    def _service_document(self, req: ApiRequest) -> ApiResponse:
        sets = [
            {"name": e.entity_set, "kind": "EntitySet", "url": e.entity_set}
            for e in self.org.metadata.entities.values()
        ]
        return ApiResponse.json(200, {"@odata.context": f"{req.base}$metadata", "value": sets})

    def _who_am_i(self, req: ApiRequest) -> ApiResponse:
        return ApiResponse.json(
            200,
            {
                "@odata.context": f"{req.base}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
                "BusinessUnitId": BUSINESS_UNIT_ID,
                "UserId": req.user_id or self.org.user_id,
                "OrganizationId": self.org.organization_id,
            },
        )

    def _query_rows(self, req: ApiRequest, entity: Entity, params: dict[str, str]) -> list[Row]:
        aliases = {k: v for k, v in params.items() if k.startswith("@")}
        rows = self.org.rows(entity.logical_name)
        if "$filter" in params:
            tree = parse_filter(params["$filter"], aliases)
            ev = Evaluator(self.org)
            ev.check(tree, entity.logical_name)
            rows = [r for r in rows if ev.matches(tree, entity.logical_name, r)]
        orderby = parse_orderby(params.get("$orderby"))
        for path, _ in orderby:
            Evaluator(self.org).check(Prop(path), entity.logical_name)
        return order_rows(
            rows, orderby, lambda r, p: shape.path_value(self.org, entity.logical_name, r, p)
        )

    def _list(self, req: ApiRequest, entity: Entity) -> ApiResponse:
        params = req.params()
        prefer = req.prefer()
        if "$deltatoken" in params or "odata.track-changes" in prefer:
            return changes.delta(self, req, entity, params, prefer)
        select = parse_select(params.get("$select"))
        expands = parse_expand(params.get("$expand"))
        shape.selected_attrs(entity, select)
        shape.check_expand(self.org, entity, expands)
        rows = self._query_rows(req, entity, params)
        count = len(rows)
        applied = []
        page_size = _page_size(prefer.get("odata.maxpagesize"))
        top = parse_top(params.get("$top"))
        if page_size is not None:
            applied.append(f"odata.maxpagesize={page_size}")
        elif top is not None:
            # $top is ignored when odata.maxpagesize is sent (PAD:webapi/query/page-results.md).
            rows = rows[:top]
        page = _page_number(params.get("$skiptoken"))
        size = page_size or MAX_PAGE
        window = rows[(page - 1) * size : page * size]
        annotations = shape.Annotations.from_prefer(prefer.get("odata.include-annotations"))
        if annotations.patterns:
            applied.append(f"odata.include-annotations={prefer['odata.include-annotations']}")
        body: dict[str, Any] = {"@odata.context": self._context(req, entity, select)}
        if params.get("$count") == "true":
            # The rows the filter matches, up to 5,000, "irrespective of the page size
            # requested" (PAD:webapi/query/count-rows.md).
            body["@odata.count"] = min(count, MAX_PAGE)
        body["value"] = [
            shape.represent(self.org, entity, r, select, expands, annotations) for r in window
        ]
        if page * size < len(rows):
            body["@odata.nextLink"] = _next_link(req, entity, params, page + 1, window[-1])
        headers = {"Preference-Applied": ",".join(applied)} if applied else {}
        return ApiResponse.json(200, body, headers)

    def _context(
        self, req: ApiRequest, entity: Entity, select: list[str] | None, single: bool = False
    ) -> str:
        cols = f"({','.join(select)})" if select else ""
        return f"{req.base}$metadata#{entity.entity_set}{cols}{'/$entity' if single else ''}"

    def _retrieve(self, req: ApiRequest, entity: Entity, record_id: str | None) -> ApiResponse:
        row = self._existing(entity, record_id)
        return self._entity_response(req, entity, row, 200)

    def _entity_response(
        self,
        req: ApiRequest,
        entity: Entity,
        row: Row,
        status: int,
        headers: dict[str, str] | None = None,
    ) -> ApiResponse:
        params = req.params()
        prefer = req.prefer()
        select = parse_select(params.get("$select"))
        expands = parse_expand(params.get("$expand")) if req.method != "PATCH" else []
        shape.selected_attrs(entity, select)
        shape.check_expand(self.org, entity, expands)
        annotations = shape.Annotations.from_prefer(prefer.get("odata.include-annotations"))
        match = req.headers.get("if-none-match")
        if (
            req.method == "GET"
            and match
            and match != "null"
            and not expands
            and not annotations.patterns
            and etag(row) in match
        ):
            # 304 only without $expand and annotations (PAD:perform-conditional-operations...).
            return ApiResponse(304, {"OData-Version": "4.0", "ETag": etag(row)})
        body = {"@odata.context": self._context(req, entity, select, single=True)}
        body.update(shape.represent(self.org, entity, row, select, expands, annotations))
        out = {"ETag": etag(row), **(headers or {})}
        if annotations.patterns:
            out["Preference-Applied"] = (
                f"odata.include-annotations={prefer['odata.include-annotations']}"
            )
        return ApiResponse.json(status, body, out)

    def _navigate(self, req: ApiRequest, entity: Entity, row: Row, nav: str) -> ApiResponse:
        if nav in entity.single_navs:
            hop = self.org.follow(entity.logical_name, row, nav)
            if hop is None:
                return ApiResponse(204, {"OData-Version": "4.0"})
            return self._entity_response(req, self.org.entity(hop[0]), hop[1], 200)
        child, rows = self.org.related(entity.logical_name, row, nav)
        target = self.org.entity(child)
        params = req.params()
        select = parse_select(params.get("$select"))
        annotations = shape.Annotations.from_prefer(req.prefer().get("odata.include-annotations"))
        if "$filter" in params:
            tree = parse_filter(params["$filter"])
            ev = Evaluator(self.org)
            ev.check(tree, child)
            rows = [r for r in rows if ev.matches(tree, child, r)]
        body = {
            "@odata.context": self._context(req, target, select),
            "value": [shape.represent(self.org, target, r, select, [], annotations) for r in rows],
        }
        return ApiResponse.json(200, body)

    def _property(self, req: ApiRequest, entity: Entity, row: Row, name: str) -> ApiResponse:
        attr = entity.by_value_property(name)
        if attr is None:
            raise ResourceNotFound(name)
        if req.method == "GET":
            value = row.get(attr.logical_name)
            if value is None:
                return ApiResponse(204, {"OData-Version": "4.0"})
            return ApiResponse.json(
                200,
                {
                    "@odata.context": f"{req.base}$metadata#{entity.entity_set}"
                    f"({row[entity.primary_id]})/{name}",
                    "value": shape.json_value(value),
                },
            )
        if attr.is_lookup:
            raise NotSupported("Use the navigation property to change a lookup.")
        if req.method == "PUT":
            data = load_json(req.body, entity.entity_set)
            if "value" not in data:
                raise PayloadError(entity.entity_set, "A 'value' property was expected.")
            new = coerce(attr, data["value"], entity)
        elif req.method == "DELETE":
            new = None
        else:
            raise MethodNotAllowed(req.method)
        self.org.update(
            entity.logical_name,
            row[entity.primary_id],
            {attr.logical_name: new},
            req.headers.get("if-match"),
        )
        return ApiResponse(204, {"OData-Version": "4.0"})

    def _ref(self, req: ApiRequest, entity: Entity, row: Row, nav: str) -> ApiResponse:
        record_id = row[entity.primary_id]
        if nav in entity.single_navs:
            attr, _ = entity.single_navs[nav]
            if req.method == "DELETE":
                self.org.update(entity.logical_name, record_id, {attr.logical_name: None})
            elif req.method == "PUT":
                data = load_json(req.body, entity.entity_set)
                ref = reference(self.org, str(data.get("@odata.id", "")), entity.entity_set)
                self.org.update(entity.logical_name, record_id, {attr.logical_name: ref})
            else:
                raise MethodNotAllowed(req.method)
            return ApiResponse(204, {"OData-Version": "4.0"})
        if nav in entity.collection_navs:
            child, attr_name = entity.collection_navs[nav]
            if req.method == "POST":
                data = load_json(req.body, entity.entity_set)
                ref = reference(self.org, str(data.get("@odata.id", "")), entity.entity_set)
                self.org.update(child, ref.id, {attr_name: Ref(entity.logical_name, record_id)})
                return ApiResponse(204, {"OData-Version": "4.0"})
            if req.method == "DELETE":
                child_id = req.params().get("$id", "")
                ref = reference(self.org, child_id, entity.entity_set)
                self.org.update(child, ref.id, {attr_name: None})
                return ApiResponse(204, {"OData-Version": "4.0"})
            raise MethodNotAllowed(req.method)
        # /$ref only on navigation properties (PAD:webapi/query/join-tables.md).
        raise QuerySyntaxError(f"'{nav}' is not a navigation property.")

    # --- writes ----------------------------------------------------------------------------

    def _create(self, req: ApiRequest, entity: Entity) -> ApiResponse:
        data = load_json(req.body, entity.entity_set)
        with self.org.transaction():
            record_id = self.create_deep(entity, data)
        row = self.org.get(entity.logical_name, record_id)
        if "return=representation" in req.headers.get("prefer", ""):
            # 201 with the record and no OData-EntityId (PAD:webapi/create-entity-web-api.md).
            return self._entity_response(
                req, entity, row, 201, {"Preference-Applied": "return=representation"}
            )
        return self._created(req, entity, record_id)

    def _created(self, req: ApiRequest, entity: Entity, record_id: str) -> ApiResponse:
        uri = f"{req.base}{entity.entity_set}({record_id})"
        return ApiResponse(204, {"OData-Version": "4.0", "OData-EntityId": uri, "Location": uri})

    def create_deep(
        self, entity: Entity, data: dict[str, Any], record_id: str | None = None
    ) -> str:
        """Create with deep insert: related single-valued records first, then the record, then
        its collection-valued children bound to it."""
        payload = read(self.org, entity, data)
        for nav, body in payload.parents.items():
            attr, target = entity.single_navs[nav]
            parent_id = self.create_deep(self.org.entity(target), body)
            payload.values[attr.logical_name] = Ref(target, parent_id)
        new_id = self.org.create(entity.logical_name, payload.values, record_id)
        self._create_children(entity, new_id, payload)
        return new_id

    def _create_children(self, entity: Entity, record_id: str, payload: Payload) -> None:
        for nav, bodies in payload.children.items():
            child, attr = entity.collection_navs[nav]
            child_entity = self.org.entity(child)
            for body in bodies:
                if not isinstance(body, dict):
                    raise PayloadError(entity.entity_set, f"Objects were expected in '{nav}'.")
                nested = read(self.org, child_entity, body)
                nested.values[attr] = Ref(entity.logical_name, record_id)
                child_id = self.org.create(child, nested.values)
                self._create_children(child_entity, child_id, nested)

    def _patch(
        self,
        req: ApiRequest,
        entity: Entity,
        record_id: str | None,
        found: bool,
        key_values: dict[str, Any],
    ) -> ApiResponse:
        data = load_json(req.body, entity.entity_set)
        if_match = req.headers.get("if-match")
        if_none_match = req.headers.get("if-none-match")
        prefer = req.headers.get("prefer", "")
        if not found:
            if if_match is not None:
                # If-Match makes PATCH update-only (PAD:perform-conditional-operations...).
                if record_id is None:
                    self._existing(entity, None)
                raise ObjectDoesNotExist(entity.logical_name, record_id or "")
            # Upsert: PATCH to a URI that does not exist creates the record with that id/key.
            with self.org.transaction():
                new_id = self.create_deep(entity, {**key_values, **data}, record_id)
            row = self.org.get(entity.logical_name, new_id)
            if "return=representation" in prefer:
                return self._entity_response(req, entity, row, 201)
            return self._created(req, entity, new_id)
        if if_none_match is not None and if_none_match.strip() == "*":
            raise DuplicateRecord()
        assert record_id is not None
        row = self.update_record(entity, record_id, data, if_match)
        if "return=representation" in prefer:
            return self._entity_response(req, entity, row, 200)
        uri = f"{req.base}{entity.entity_set}({record_id})"
        return ApiResponse(204, {"OData-Version": "4.0", "OData-EntityId": uri})

    def update_record(
        self, entity: Entity, record_id: str, data: dict[str, Any], if_match: str | None = None
    ) -> Row:
        payload = read(self.org, entity, data)
        if payload.children or payload.parents:
            raise NotSupported("Deep update is not supported; update related records separately.")
        return self.org.update(entity.logical_name, record_id, payload.values, if_match)


def _split_path(path: str) -> list[str]:
    """Splits on `/` outside parentheses and quotes (keys may hold slashes)."""
    parts, depth, quoted, start = [], 0, False, 0
    for i, ch in enumerate(path):
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        elif not quoted and depth == 0 and ch == "/":
            parts.append(path[start:i])
            start = i + 1
    parts.append(path[start:])
    return parts


def _literal(raw: str) -> Any:
    try:
        return int(raw)
    except ValueError:
        return raw


def _page_size(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit() or int(value) < 1:
        raise QuerySyntaxError(f"Invalid odata.maxpagesize '{value}'.")
    return min(int(value), MAX_PAGE)


_COOKIE = re.compile(r'pagenumber="(\d+)"')


def _page_number(token: str | None) -> int:
    if token is None:
        return 1
    m = _COOKIE.search(token)
    if not m:
        raise QuerySyntaxError("The $skiptoken is not valid.")
    return int(m.group(1))


def _next_link(
    req: ApiRequest, entity: Entity, params: dict[str, str], page: int, last: Row
) -> str:
    # Opaque to clients: Dataverse's paging cookie shape (PAD:webapi/query/page-results.md).
    last_id = last[entity.primary_id]
    cookie = (
        f'<cookie pagenumber="{page}" pagingcookie="'
        + quote(
            quote(
                f'<cookie page="{page - 1}"><{entity.primary_id} last="{{{last_id}}}" '
                f'first="{{{last_id}}}" /></cookie>'
            )
        )
        + '" istracking="False" />'
    )
    query = {k: v for k, v in params.items() if k != "$skiptoken"}
    query["$skiptoken"] = cookie
    return f"{req.base}{entity.entity_set}?{urlencode(query, quote_via=quote, safe='$,()')}"
