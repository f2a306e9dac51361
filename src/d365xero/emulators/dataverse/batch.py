"""`POST /api/data/v9.2/$batch`: multipart/mixed with CRLF line endings, change sets that are
all-or-nothing, Content-ID references, `Prefer: odata.continue-on-error`, at most 1,000 requests.

PAD:webapi/execute-batch-operations-using-web-api.md (reference/dataverse.md §2): by default the
batch stops at the first failure and the response status becomes the failure's; a failed change
set rolls back and answers with the failing request alone; `$n` may stand for the URI of the
record created by the part with `Content-ID: n` in a later URL or `@odata.bind`/`@odata.id` value,
and a reference to an unknown id is a 400. Lines must end with CRLF ("Stream was not readable").
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import urlsplit

from d365xero.emulators.dataverse.errors import BatchError, DataverseError
from d365xero.emulators.dataverse.webapi import API, MAX_BATCH_URL, ApiRequest, ApiResponse, WebApi

MAX_REQUESTS = 1000
CRLF = b"\r\n"
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_REF = re.compile(r"^\$(\d+)")


@dataclass
class Part:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    content_id: str | None = None


@dataclass
class ChangeSet:
    parts: list[Part] = field(default_factory=list)


def boundary_of(content_type: str) -> str | None:
    if not content_type.lower().startswith("multipart/mixed"):
        return None
    m = _BOUNDARY.search(content_type)
    return m.group(1) if m else None


def _split(body: bytes, boundary: str) -> list[bytes]:
    delimiter = b"--" + boundary.encode()
    chunks = body.split(delimiter)
    if len(chunks) < 2:
        raise BatchError(f"The batch request must contain the boundary '{boundary}'.")
    parts = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        if not chunk.startswith(CRLF):
            raise BatchError("The batch request is malformed: a CRLF must follow each boundary.")
        parts.append(chunk[2:-2] if chunk.endswith(CRLF) else chunk[2:])
    return parts


def _headers_and_body(chunk: bytes) -> tuple[dict[str, str], bytes]:
    head, sep, body = chunk.partition(CRLF + CRLF)
    if not sep:
        head, body = chunk, b""
    headers = {}
    for line in head.split(CRLF):
        if not line.strip():
            continue
        name, colon, value = line.decode("utf-8", "replace").partition(":")
        if not colon:
            raise BatchError(f"The batch part header '{name}' is malformed.")
        headers[name.strip().lower()] = value.strip()
    return headers, body


def _request(chunk: bytes, outer: dict[str, str]) -> Part:
    headers, content = _headers_and_body(chunk)
    if not headers.get("content-type", "").lower().startswith("application/http"):
        raise BatchError("Each batch part must have 'Content-Type: application/http'.")
    line, _, rest = content.partition(CRLF)
    text = line.decode("utf-8", "replace")
    method, _, target = text.partition(" ")
    url, _, version = target.rpartition(" ")
    if not method or not url or not version.startswith("HTTP/"):
        raise BatchError(f"The request line '{text}' is malformed.")
    inner, body = _headers_and_body(rest)
    if body.endswith(CRLF):
        body = body[:-2]
    return Part(method.upper(), url, inner, body, headers.get("content-id"))


def parse(body: bytes, boundary: str) -> list[Part | ChangeSet]:
    if b"\n" in body.replace(CRLF, b""):
        raise BatchError(
            "Error identified in Payload provided by the user for Entity :'', ----> "
            "InnerException : Microsoft.OData.ODataException: Stream was not readable. "
            "(Batch requests must use CRLF line endings.)"
        )
    items: list[Part | ChangeSet] = []
    for chunk in _split(body, boundary):
        headers, content = _headers_and_body(chunk)
        inner = boundary_of(headers.get("content-type", ""))
        if inner:
            changeset = ChangeSet([_request(c, headers) for c in _split(content, inner)])
            for part in changeset.parts:
                if part.method == "GET":
                    raise BatchError("GET requests are not allowed inside a change set.")
                if part.url.endswith("$batch"):
                    raise BatchError("Nested batch requests are not supported.")
            items.append(changeset)
        else:
            items.append(_request(chunk, headers))
    count = sum(len(i.parts) if isinstance(i, ChangeSet) else 1 for i in items)
    if count > MAX_REQUESTS:
        raise BatchError(
            f"The number of requests in a batch ({count}) exceeds the limit of {MAX_REQUESTS}."
        )
    return items


class _Failed(Exception):
    def __init__(self, response: ApiResponse, part: Part) -> None:
        self.response = response
        self.part = part


class BatchRunner:
    def __init__(self, api: WebApi, org_url: str, headers: dict[str, str], user_id: str) -> None:
        self.api = api
        self.user_id = user_id
        self.org_url = org_url
        self.headers = headers
        self.continue_on_error = "odata.continue-on-error" in headers.get("prefer", "")

    def run(self, items: list[Part | ChangeSet]) -> ApiResponse:
        boundary = f"batchresponse_{uuid.uuid4()}"
        out: list[bytes] = []
        status = 200
        for item in items:
            if isinstance(item, ChangeSet):
                chunk, failure = self._changeset(item)
            else:
                response = self._execute(item, {})
                chunk = _http_part(response, item.content_id)
                failure = response.status if response.status >= 400 else 0
            out.append(chunk)
            if failure and not self.continue_on_error:
                status = failure
                break
        body = b"".join(b"--" + boundary.encode() + CRLF + c for c in out)
        body += b"--" + boundary.encode() + b"--" + CRLF
        headers = {"Content-Type": f"multipart/mixed; boundary={boundary}", "OData-Version": "4.0"}
        return ApiResponse(status, headers, body)

    def _changeset(self, changeset: ChangeSet) -> tuple[bytes, int]:
        """The change set's response part, and the failing status (0 when it succeeded)."""
        ids: dict[str, str] = {}
        responses: list[tuple[ApiResponse, Part]] = []
        try:
            with self.api.org.transaction():
                for part in changeset.parts:
                    response = self._execute(part, ids)
                    if response.status >= 400:
                        raise _Failed(response, part)
                    responses.append((response, part))
                    uri = response.headers.get("OData-EntityId")
                    if part.content_id and uri:
                        ids[part.content_id] = uri
        except _Failed as failure:
            return _http_part(failure.response, failure.part.content_id), failure.response.status
        boundary = f"changesetresponse_{uuid.uuid4()}"
        inner = b"".join(
            b"--" + boundary.encode() + CRLF + _http_part(r, p.content_id) for r, p in responses
        )
        inner += b"--" + boundary.encode() + b"--" + CRLF
        head = f"Content-Type: multipart/mixed; boundary={boundary}".encode() + CRLF + CRLF
        return head + inner, 0

    def _execute(self, part: Part, ids: dict[str, str]) -> ApiResponse:
        try:
            url = _substitute_url(part.url, ids)
            body = _substitute_body(part.body, ids)
        except DataverseError as err:
            return ApiResponse.error(err)
        split = urlsplit(url)
        path = split.path
        if path.startswith(API + "/"):
            path = path[len(API) + 1 :]
        elif path.startswith("/"):
            return ApiResponse.error(
                BatchError(f"The URL '{part.url}' is not in this organisation.")
            )
        headers = {"authorization": self.headers.get("authorization", ""), **part.headers}
        request = ApiRequest(
            part.method, path, split.query, headers, body, self.org_url, self.user_id
        )
        return self.api.handle(request, max_url=MAX_BATCH_URL)


def _substitute_url(url: str, ids: dict[str, str]) -> str:
    m = _REF.match(url)
    if not m:
        return url
    if m.group(1) not in ids:
        raise BatchError(
            f"Content-ID Reference: '${m.group(1)}' does not exist in the batch context."
        )
    return ids[m.group(1)] + url[m.end() :]


def _substitute_body(body: bytes, ids: dict[str, str]) -> bytes:
    if b'"$' not in body:
        return body
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body
    if not isinstance(data, dict):
        return body
    for key, value in list(data.items()):
        if (key.endswith("@odata.bind") or key == "@odata.id") and isinstance(value, str):
            data[key] = _substitute_url(value, ids)
    return json.dumps(data).encode()


def _reason(status: int) -> str:
    phrase = HTTPStatus(status).phrase
    # Dataverse writes error statuses as .NET names ("400 BadRequest"), successes as phrases.
    return phrase.replace(" ", "") if status >= 400 else phrase


def _http_part(response: ApiResponse, content_id: str | None) -> bytes:
    head = [b"Content-Type: application/http", b"Content-Transfer-Encoding: binary"]
    if content_id:
        head.append(f"Content-ID: {content_id}".encode())
    lines = [f"HTTP/1.1 {response.status} {_reason(response.status)}".encode()]
    for name, value in response.headers.items():
        if name == "Content-Type" and value.startswith("application/json"):
            value = "application/json; odata.metadata=minimal; odata.streaming=true"
        lines.append(f"{name}: {value}".encode())
    return CRLF.join(head) + CRLF + CRLF + CRLF.join(lines) + CRLF + CRLF + response.body + CRLF
