"""Validates the Xero emulator's traffic against Xero's own OpenAPI files, in tests.

Every request to /api.xro/2.0 or /Connections, and every 2xx or 400 response to one, is checked
with openapi-core against the repository's specs/xero (xero_accounting.yaml, xero-identity.yaml),
as specs/README.md describes: `default: "false"/"true"` strings become booleans, the emulator's
origin is matched through relative `servers`, and security is not validated (scopes are the
emulator's own job). Mismatches are collected; the fixtures fail the test if any remain.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import yaml
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.responses.exceptions import ResponseNotFound
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from werkzeug.datastructures import Headers, ImmutableMultiDict

SPEC_DIR = Path(__file__).resolve().parents[2] / "specs" / "xero"
ACCOUNTING_PREFIX = "/api.xro/2.0"


def _fix_booleans(node: Any) -> None:
    """The 23 defects strict validators report: `default: "false"` on boolean schemas."""
    if isinstance(node, dict):
        for key in ("default", "example"):
            if node.get(key) in ("false", "true") and node.get("type") == "boolean":
                node[key] = node[key] == "true"
        for value in node.values():
            _fix_booleans(value)
    elif isinstance(node, list):
        for value in node:
            _fix_booleans(value)


def _allow_sdk_flags(node: Any) -> None:
    """xero-python always sends HasAttachments/HasErrors/HasValidationErrors (false), which the
    spec marks readOnly and the real API ignores (reference/xero.md §8)."""
    if isinstance(node, dict):
        properties = node.get("properties")
        if isinstance(properties, dict):
            for name in ("HasAttachments", "HasErrors", "HasValidationErrors"):
                if isinstance(properties.get(name), dict):
                    properties[name].pop("readOnly", None)
        for value in node.values():
            _allow_sdk_flags(value)
    elif isinstance(node, list):
        for value in node:
            _allow_sdk_flags(value)


def _strip_security(spec: dict[str, Any]) -> None:
    spec.pop("security", None)
    for path_item in spec.get("paths", {}).values():
        for operation in path_item.values():
            if isinstance(operation, dict):
                operation.pop("security", None)


def _load(name: str, server: str, *patches: Callable[[dict[str, Any]], None]) -> OpenAPI:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spec = yaml.load((SPEC_DIR / name).read_text(encoding="utf-8"), Loader=loader)
    _fix_booleans(spec)
    _allow_sdk_flags(spec)
    for patch in patches:
        patch(spec)
    _strip_security(spec)
    spec["servers"] = [{"url": server}]  # relative: matches any emulator origin
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


@cache
def accounting_spec() -> OpenAPI:
    return _load("xero_accounting.yaml", ACCOUNTING_PREFIX)


def _relax_connection_dates(spec: dict[str, Any]) -> None:
    """The identity spec types createdDateUtc/updatedDateUtc as RFC 3339 date-time, yet its own
    example (and the real API) sends "2019-12-07T18:46:19.5165400", with no offset."""
    properties = spec["components"]["schemas"]["Connection"]["properties"]
    for name in ("createdDateUtc", "updatedDateUtc"):
        properties[name].pop("format", None)


@cache
def identity_spec() -> OpenAPI:
    return _load("xero-identity.yaml", "/", _relax_connection_dates)


@dataclass
class _Request:
    host_url: str
    path: str
    method: str
    parameters: RequestParameters
    content_type: str
    body: bytes | None


@dataclass
class _Response:
    status_code: int
    headers: Headers
    content_type: str
    data: bytes | None


def _spec_for(path: str) -> OpenAPI | None:
    if path.startswith(ACCOUNTING_PREFIX + "/"):
        return accounting_spec()
    if path == "/Connections" or path.startswith("/Connections/"):
        return identity_spec()
    return None


class OpenAPIValidator:
    """ASGI middleware: passes traffic through unchanged and records every spec mismatch."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.mismatches: list[str] = []
        self.checked = 0
        self._allow_invalid_requests = False
        self._lock = threading.Lock()

    @contextmanager
    def allowing_invalid_requests(self) -> Iterator[None]:
        """For tests that send Xero bad input on purpose: requests are not held to the spec,
        responses still are."""
        self._allow_invalid_requests = True
        try:
            yield
        finally:
            self._allow_invalid_requests = False

    def _record(self, text: str) -> None:
        with self._lock:
            self.mismatches.append(text)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _spec_for(scope["path"]) is None:
            await self.app(scope, receive, send)
            return
        # Read the whole body first: the app may answer (401, 403) without reading it.
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            body.extend(message.get("body", b""))
            if not message.get("more_body", False):
                break
        response: dict[str, Any] = {"body": bytearray()}
        replayed = False

        async def receive_wrapper() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                response["status"] = message["status"]
                response["headers"] = message.get("headers", [])
            elif message["type"] == "http.response.body":
                response["body"].extend(message.get("body", b""))
            await send(message)

        await self.app(scope, receive_wrapper, send_wrapper)
        self.validate(scope, bytes(body), response)

    def validate(self, scope: Scope, body: bytes, response: dict[str, Any]) -> None:
        spec = _spec_for(scope["path"])
        assert spec is not None
        headers = Headers([(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]])
        # xero-python sends Python-capitalised booleans (summarizeErrors=False), which the real
        # API accepts; the spec's boolean casting wants lowercase.
        query = [
            (k, v.lower() if v in ("True", "False") else v)
            for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1"), True)
        ]
        request = _Request(
            host_url=f"{scope.get('scheme', 'http')}://{headers.get('host', 'testserver')}",
            path=scope["path"],
            method=scope["method"].lower(),
            parameters=RequestParameters(query=ImmutableMultiDict(query), header=headers),
            content_type=headers.get("content-type", ""),
            body=body or None,
        )
        where = f"{scope['method']} {scope['path']}"
        self.checked += 1
        if not self._allow_invalid_requests:
            try:
                spec.validate_request(request)
            except Exception as exc:  # every openapi-core error is a mismatch to report
                self._record(f"request {where}: {_describe(exc)}")
        status = response.get("status", 0)
        if not (200 <= status < 300 or status == 400):
            return
        resp_headers = Headers(
            [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.get("headers", [])]
        )
        result = _Response(
            status_code=status,
            headers=resp_headers,
            content_type=resp_headers.get("content-type", ""),
            data=bytes(response["body"]) or None,
        )
        try:
            spec.validate_response(request, result)
        except ResponseNotFound:
            if status != 400:  # a 400 the operation does not declare has nothing to check
                self._record(f"response {where} {status}: not declared in the spec")
        except Exception as exc:
            self._record(f"response {where} {status}: {_describe(exc)}")


def _describe(exc: BaseException) -> str:
    parts = [f"{type(exc).__name__}: {exc}"]
    cause = exc.__cause__ or exc.__context__
    for sub in getattr(cause, "schema_errors", None) or getattr(exc, "schema_errors", None) or []:
        parts.append(f"  {list(sub.absolute_path)}: {sub.message}")
    if cause is not None and not getattr(cause, "schema_errors", None):
        parts.append(f"  caused by {type(cause).__name__}: {cause}")
    return "\n".join(parts)[:2000]


@cache
def _webhook_components() -> dict[str, Any]:
    """xero-webhooks.yaml's schemas, with two defects relaxed: its own example gives
    eventDateUtc without an offset ("2024-06-21T01:15:39.902"), and the Intent-to-Receive
    payload has sequences 0 although the schema says minimum 1 (reference/xero.md §6)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spec = yaml.load((SPEC_DIR / "xero-webhooks.yaml").read_text("utf-8"), Loader=loader)
    event = spec["components"]["schemas"]["WebhookEvent"]
    event["properties"]["events"]["items"]["properties"]["eventDateUtc"].pop("format", None)
    for name in ("firstEventSequence", "lastEventSequence"):
        event["properties"][name]["minimum"] = 0
    components: dict[str, Any] = spec["components"]
    return components


def webhook_payload_errors(payload: Any) -> list[str]:
    """Mismatches of one webhook delivery against xero-webhooks.yaml."""
    from openapi_schema_validator import OAS31Validator

    events = payload.get("events", []) if isinstance(payload, dict) else []
    credit = any(e.get("eventCategory") == "CREDITNOTE" for e in events if isinstance(e, dict))
    name = "CreditNoteWebhookEvent" if credit else "WebhookEvent"
    schema = {"$ref": f"#/components/schemas/{name}", "components": _webhook_components()}
    validator = OAS31Validator(schema, format_checker=OAS31Validator.FORMAT_CHECKER)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(payload)]
