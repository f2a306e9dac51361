"""Validates the Stripe stand-in's traffic against Stripe's own OpenAPI description, in tests.

Every response to /v1/... is checked with openapi-core against specs/stripe/stripe_subset.yaml
(specs/README.md), and every webhook event against its `event` schema and its `data.object`
against the schema of that object's type. Requests are not validated: the spec declares form
bodies whose nested `deepObject` encoding openapi-core does not decode. Security is not
validated (the stand-in checks the key itself). The spec is used as published, but for its
`servers`, made relative so any stand-in origin matches, and for `nullable`, which Stripe's
file uses as OpenAPI 3.0's validators of its day did and openapi-core's do not: beside `anyOf`
with no `type` (3.0.3 says nullable applies only with a type), and on enums that do not list
null (3.0.3's clarification wants it listed). Both are made explicit in memory.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import PathNotFound
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from werkzeug.datastructures import Headers, ImmutableMultiDict

SPEC = Path(__file__).resolve().parents[2] / "specs" / "stripe" / "stripe_subset.yaml"


_NULL = {"type": "string", "nullable": True, "enum": [None]}


def _explicit_nulls(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("nullable") is True:
            if "anyOf" in node and "type" not in node:
                node["anyOf"] = [*node["anyOf"], dict(_NULL)]
            if isinstance(node.get("enum"), list) and None not in node["enum"]:
                node["enum"] = [*node["enum"], None]
        for value in node.values():
            _explicit_nulls(value)
    elif isinstance(node, list):
        for value in node:
            _explicit_nulls(value)


@cache
def _raw_spec() -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spec: dict[str, Any] = yaml.load(SPEC.read_text(encoding="utf-8"), Loader=loader)
    _explicit_nulls(spec)
    return spec


@cache
def stripe_spec() -> OpenAPI:
    spec = dict(_raw_spec())
    spec["servers"] = [{"url": "/"}]
    spec.pop("security", None)
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


def object_errors(obj: Any, schema_name: str) -> list[str]:
    """Mismatches of one object against a named schema of the spec."""
    from jsonschema.validators import RefResolver
    from openapi_schema_validator import OAS30Validator

    spec = _raw_spec()
    schema = {"$ref": f"#/components/schemas/{schema_name}"}
    validator = OAS30Validator(schema, resolver=RefResolver.from_schema(spec))
    return [f"{list(e.absolute_path)}: {e.message}"[:500] for e in validator.iter_errors(obj)]


def event_errors(event: Any) -> list[str]:
    """An event's envelope against `event`, and its object against its own type's schema."""
    errors = object_errors(event, "event")
    obj = event.get("data", {}).get("object") if isinstance(event, dict) else None
    if isinstance(obj, dict) and obj.get("object") in _raw_spec()["components"]["schemas"]:
        errors += [f"data.object {e}" for e in object_errors(obj, obj["object"])]
    return errors


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


class StripeValidator:
    """ASGI middleware: passes traffic through unchanged and records every spec mismatch."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.mismatches: list[str] = []
        self.checked = 0
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        response: dict[str, Any] = {"body": bytearray()}
        held: list[Message] = []

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                response["status"] = message["status"]
                response["headers"] = message.get("headers", [])
            elif message["type"] == "http.response.body":
                response["body"].extend(message.get("body", b""))
            held.append(message)

        await self.app(scope, receive, send_wrapper)
        # Checked before the client sees the answer, so a test's last call is counted.
        self.validate(scope, response)
        for message in held:
            await send(message)

    def validate(self, scope: Scope, response: dict[str, Any]) -> None:
        headers = Headers([(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]])
        request = _Request(
            host_url=f"{scope.get('scheme', 'http')}://{headers.get('host', 'testserver')}",
            path=scope["path"],
            method=scope["method"].lower(),
            parameters=RequestParameters(query=ImmutableMultiDict(), header=headers),
            content_type=headers.get("content-type", ""),
            body=None,
        )
        resp_headers = Headers(
            [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.get("headers", [])]
        )
        result = _Response(
            status_code=response.get("status", 0),
            headers=resp_headers,
            content_type=resp_headers.get("content-type", ""),
            data=bytes(response["body"]) or None,
        )
        where = f"{scope['method']} {scope['path']} {result.status_code}"
        with self._lock:
            self.checked += 1
        try:
            stripe_spec().validate_response(request, result)
        except PathNotFound:  # an unknown URL: Stripe's 404, which no operation declares
            return
        except Exception as exc:  # every openapi-core error is a mismatch to report
            cause = exc.__cause__ or exc.__context__
            details = [
                f"  {list(e.absolute_path)}: {e.message}"[:300]
                for e in getattr(cause, "schema_errors", None) or []
            ]
            with self._lock:
                self.mismatches.append("\n".join([f"{where}: {exc}", *details])[:3000])
