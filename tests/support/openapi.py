"""Validates an emulator's traffic against its service's own OpenAPI description, in tests.

One validator for every service: `TrafficValidator`, an ASGI middleware that checks requests
and responses with openapi-core, and `schema_errors`, which checks what a service sends outside
a response (webhook events) against a schema of the same file, through a `referencing`
registry. What a service's published file gets wrong, and what its own validation leaves out,
is kept in that service's module (stripe_openapi.py, xero_openapi.py), each patch in memory and
named there with its reason; the files under specs/ stay as published (specs/README.md).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import yaml
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_schema_validator import OAS30Validator, OAS31Validator
from referencing import Registry, Specification
from referencing.jsonschema import DRAFT4, DRAFT202012
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from werkzeug.datastructures import Headers, ImmutableMultiDict

# The schema dialect of each OpenAPI version: 3.0's is its own take on JSON Schema draft 4 (ids
# and $ref as in draft 4), 3.1's is JSON Schema 2020-12.
_DIALECTS: dict[str, tuple[type[Validator], Specification[Any]]] = {
    "3.0": (OAS30Validator, DRAFT4),
    "3.1": (OAS31Validator, DRAFT202012),
}
_ROOT = "urn:d365xero:openapi"  # where the registry keeps the file, for $ref to name it


def load_spec(path: Path) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spec: dict[str, Any] = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    return spec


def mappings(node: Any) -> Iterator[dict[str, Any]]:
    """Every mapping in a loaded spec, outermost first, for patches that touch them all; a
    mapping may be changed when it is yielded, before its values are walked."""
    if isinstance(node, dict):
        yield node
        for value in list(node.values()):
            yield from mappings(value)
    elif isinstance(node, list):
        for value in node:
            yield from mappings(value)


def openapi(spec: dict[str, Any], server: str) -> OpenAPI:
    """The spec for openapi-core, served at `server` (relative, so any emulator origin matches)
    and without security, which each emulator checks itself (its keys, its scopes)."""
    spec = {**spec, "servers": [{"url": server}]}
    spec.pop("security", None)
    for path_item in spec.get("paths", {}).values():
        for operation in path_item.values():
            if isinstance(operation, dict):
                operation.pop("security", None)
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


def schema_errors(spec: dict[str, Any], name: str, instance: Any) -> list[str]:
    """Mismatches of one object against the schema `name` of the spec's components, formats
    included."""
    validator_cls, specification = _DIALECTS[str(spec["openapi"])[:3]]
    registry: Registry[Any] = Registry().with_resource(_ROOT, specification.create_resource(spec))
    validator = validator_cls(
        {"$ref": f"{_ROOT}#/components/schemas/{name}"},
        registry=registry,
        format_checker=validator_cls.FORMAT_CHECKER,
    )
    return [f"{list(e.absolute_path)}: {e.message}"[:500] for e in validator.iter_errors(instance)]


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


def _headers(raw: list[tuple[bytes, bytes]]) -> Headers:
    return Headers([(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw])


class TrafficValidator:
    """ASGI middleware: passes traffic through unchanged and records every spec mismatch.

    A service's subclass says which paths it checks and what its spec is allowed to miss; by
    default every request and every response of a checked path is validated."""

    validates_requests = True

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.mismatches: list[str] = []
        self.checked = 0
        self._allow_invalid_requests = False
        self._lock = threading.Lock()

    def spec_for(self, path: str) -> OpenAPI | None:
        """The spec a path is checked against; None: not checked."""
        raise NotImplementedError

    def query(self, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The query string as the spec should read it."""
        return pairs

    def checks_response(self, status: int) -> bool:
        return True

    def tolerates(self, exc: Exception, status: int) -> bool:
        """Whether an openapi-core error about a response is no mismatch (a gap of the spec, not
        of the traffic)."""
        return False

    @contextmanager
    def allowing_invalid_requests(self) -> Iterator[None]:
        """For tests that send a service bad input on purpose: requests are not held to the
        spec, responses still are."""
        self._allow_invalid_requests = True
        try:
            yield
        finally:
            self._allow_invalid_requests = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.spec_for(scope["path"]) is None:
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
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        try:
            await self.app(scope, replay, hold)
        except Exception:
            # A response broken on purpose (a "lost" fault) reaches the client as broken as the
            # app left it, and the app's own error is the one the server sees.
            with suppress(Exception):
                for message in held:
                    await send(message)
            raise
        # Checked before the client sees the answer, so a test's last call is counted.
        self.validate(scope, bytes(body), held)
        for message in held:
            await send(message)

    def validate(self, scope: Scope, body: bytes, messages: list[Message]) -> None:
        spec = self.spec_for(scope["path"])
        assert spec is not None
        headers = _headers(scope["headers"])
        query = self.query(parse_qsl(scope.get("query_string", b"").decode("latin-1"), True))
        request = _Request(
            host_url=f"{scope.get('scheme', 'http')}://{headers.get('host', 'testserver')}",
            path=scope["path"],
            method=scope["method"].lower(),
            parameters=RequestParameters(query=ImmutableMultiDict(query), header=headers),
            content_type=headers.get("content-type", ""),
            body=body or None,
        )
        where = f"{scope['method']} {scope['path']}"
        with self._lock:
            self.checked += 1
        if self.validates_requests and not self._allow_invalid_requests:
            try:
                spec.validate_request(request)
            except Exception as exc:  # every openapi-core error is a mismatch to report
                self._record(f"request {where}: {_describe(exc)}")
        start = next((m for m in messages if m["type"] == "http.response.start"), {})
        status = start.get("status", 0)
        if not self.checks_response(status):
            return
        resp_headers = _headers(start.get("headers", []))
        data = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        response = _Response(
            status_code=status,
            headers=resp_headers,
            content_type=resp_headers.get("content-type", ""),
            data=data or None,
        )
        try:
            spec.validate_response(request, response)
        except Exception as exc:
            if not self.tolerates(exc, status):
                self._record(f"response {where} {status}: {_describe(exc)}")

    def _record(self, text: str) -> None:
        with self._lock:
            self.mismatches.append(text)


def _describe(exc: BaseException) -> str:
    """The error and each schema error under it, the head cut short: openapi-core's message
    quotes the whole value, which would leave no room for what is wrong with it."""
    parts = [f"{type(exc).__name__}: {exc}"[:300]]
    cause = exc.__cause__ or exc.__context__
    for sub in getattr(cause, "schema_errors", None) or getattr(exc, "schema_errors", None) or []:
        for leaf in _leaves(sub):
            line = f"  {list(leaf.absolute_path)}: {leaf.message}"[:300]
            if line not in parts:
                parts.append(line)
    if cause is not None and not getattr(cause, "schema_errors", None):
        parts.append(f"  caused by {type(cause).__name__}: {cause}")
    return "\n".join(parts)[:3000]


def _leaves(error: ValidationError) -> Iterator[ValidationError]:
    """The errors under an anyOf/oneOf failure, down to where the value broke in each branch
    (the failure itself only quotes the whole value)."""
    if not error.context:
        yield error
    for sub in error.context:
        yield from _leaves(sub)
