"""Dataverse $batch bodies: multipart/mixed with CRLF line endings, one change set per group of
operations that must succeed or fail together."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

CRLF = "\r\n"


@dataclass(frozen=True)
class Operation:
    method: str  # POST | PATCH | DELETE
    path: str  # relative to the API root, e.g. "dxc_synchistories" or "invoicedetails(<id>)"
    body: dict[str, Any] | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class OperationResult:
    status: int
    body: dict[str, Any] | None
    headers: dict[str, str]


def encode(api_root: str, changesets: list[list[Operation]]) -> tuple[str, bytes]:
    """The content type and body of a $batch request."""
    boundary = f"batch_{uuid.uuid4()}"
    parts: list[str] = []
    content_id = 0
    for changeset in changesets:
        if len(changeset) == 1 and changeset[0].method == "GET":  # a query: never in a change set
            content_id += 1
            parts.append(_query_part(boundary, api_root, changeset[0]))
            continue
        cs = f"changeset_{uuid.uuid4()}"
        inner: list[str] = []
        for op in changeset:
            content_id += 1
            request = [
                f"--{cs}",
                "Content-Type: application/http",
                "Content-Transfer-Encoding: binary",
                f"Content-ID: {content_id}",
                "",
                f"{op.method} {api_root}/{op.path} HTTP/1.1",
                "Content-Type: application/json; type=entry",
                *(f"{name}: {value}" for name, value in op.headers),
                "",
                json.dumps(op.body, default=str) if op.body is not None else "",
            ]
            inner.append(CRLF.join(request))
        inner.append(f"--{cs}--")
        parts.append(
            CRLF.join([f"--{boundary}", f"Content-Type: multipart/mixed; boundary={cs}", ""])
            + CRLF
            + CRLF.join(inner)
        )
    body = CRLF.join(parts) + CRLF + f"--{boundary}--" + CRLF
    return f"multipart/mixed; boundary={boundary}", body.encode()


def _query_part(boundary: str, api_root: str, op: Operation) -> str:
    return CRLF.join(
        [
            f"--{boundary}",
            "Content-Type: application/http",
            "Content-Transfer-Encoding: binary",
            "",
            f"GET {api_root}/{op.path} HTTP/1.1",
            "Accept: application/json",
            *(f"{name}: {value}" for name, value in op.headers),
            "",
            "",
        ]
    )


def _boundary(content_type: str) -> str:
    for piece in content_type.split(";"):
        key, _, value = piece.strip().partition("=")
        if key.lower() == "boundary":
            return value.strip('"')
    raise ValueError(f"no boundary in {content_type!r}")


def decode(content_type: str, body: bytes) -> list[OperationResult]:
    """Every operation's response, in order, change sets flattened."""
    return _parts(_boundary(content_type), body.decode())


def _parts(boundary: str, text: str) -> list[OperationResult]:
    results: list[OperationResult] = []
    for chunk in text.split(f"--{boundary}")[1:]:
        if chunk.startswith("--"):
            break
        head, _, rest = chunk.lstrip("\r\n").partition("\r\n\r\n")
        headers = _headers(head)
        if headers.get("content-type", "").startswith("multipart/mixed"):
            results += _parts(_boundary(headers["content-type"]), rest)
        else:
            results.append(_response(rest))
    return results


def _headers(block: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in block.split("\r\n"):
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers


def _response(text: str) -> OperationResult:
    status_line, _, rest = text.partition("\r\n")
    head, _, payload = rest.partition("\r\n\r\n")
    status = int(status_line.split()[1])
    payload = payload.strip()
    body = json.loads(payload) if payload.startswith("{") else None
    return OperationResult(status, body, _headers(head))
