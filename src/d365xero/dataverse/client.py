"""DataverseClient: the Web API over an httpx.Client that the caller hands in (a real network
transport, or an emulator's app in tests), with tokens, retries and a call count."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol
from urllib.parse import quote, urlencode

import httpx

from d365xero.budget import CallBudget, Unlimited
from d365xero.dataverse import batch
from d365xero.errors import AuthorisationLost, ConfigurationError, RemoteRejected, TransientError
from d365xero.reach import transport_failure

API_PATH = "/api/data/v9.2"
MAX_PAGE = 5000
MAX_BATCH = 1000  # operations in one $batch request
_SAFE = "$'(),=/:@;"  # left as they are in a query inside a $batch: shorter, still valid


class TokenSource(Protocol):
    def current(self) -> str: ...

    def invalidate(self) -> None: ...

    def close(self) -> None: ...


class DataverseClient:
    def __init__(
        self,
        http: httpx.Client,
        org_url: str,
        tokens: TokenSource,
        *,
        attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        budget: CallBudget | None = None,
    ) -> None:
        self.http = http
        # The application user's service protection limits, shared by every process.
        self._budget: CallBudget = budget or Unlimited()
        self.org_url = org_url.rstrip("/")
        self.api_root = self.org_url + API_PATH
        self.calls = 0
        self.throttled = 0  # answers of 429 (for metrics)
        self._tokens = tokens
        self._attempts = attempts
        self._sleep = sleep

    def close(self) -> None:
        """Closes the token source's connections; the httpx.Client belongs to the caller."""
        self._tokens.close()

    def get(self, path: str, params: dict[str, str] | None = None, **headers: str) -> Any:
        return self._request("GET", path, params=params, headers=headers).json()

    def pages(
        self,
        entity_set: str,
        params: dict[str, str],
        page_size: int = MAX_PAGE,
        prefer: str | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Rows a page at a time, following @odata.nextLink (which carries the query itself)."""
        preferences = ",".join(p for p in (f"odata.maxpagesize={page_size}", prefer) if p)
        prefer_header = {"Prefer": preferences}
        body = self._request("GET", entity_set, params=params, headers=prefer_header).json()
        while True:
            yield body.get("value", [])
            next_link = body.get("@odata.nextLink")
            if not next_link:
                return
            body = self._request("GET", next_link, headers=prefer_header).json()

    def query_batch(self, queries: list[tuple[str, dict[str, str]]]) -> list[list[dict[str, Any]]]:
        """Each (entity set, query options) query's rows, all in one $batch, where a URL may be
        65,536 characters rather than 32,768 (a long `In` list of ids fits). Rows past the first
        page of 5,000 are not followed: ask for fewer per query."""
        ops = [
            [
                batch.Operation(
                    "GET", f"{entity_set}?{urlencode(params, safe=_SAFE, quote_via=quote)}"
                )
            ]
            for entity_set, params in queries
        ]
        results = self.batch(ops)
        failed = [r for r in results if r.status >= 400]
        if failed:
            message = str((failed[0].body or {}).get("error", {}).get("message", failed[0].status))
            raise RemoteRejected(
                f"Dynamics refused a query: {message}", status=failed[0].status, service="dataverse"
            )
        return [list((r.body or {}).get("value", [])) for r in results]

    def create(self, entity_set: str, row: dict[str, Any]) -> str:
        response = self._request("POST", entity_set, json=row)
        entity_id = response.headers.get("OData-EntityId", "")
        return entity_id.rsplit("(", 1)[-1].rstrip(")")

    def update(
        self, entity_set: str, row_id: str, changes: dict[str, Any], if_match: str | None = None
    ) -> None:
        """With `if_match` (an ETag), only while the row is at that version: else 412."""
        headers = {"If-Match": if_match} if if_match else {}
        self._request("PATCH", f"{entity_set}({row_id})", json=changes, headers=headers)

    def delete(self, entity_set: str, row_id: str) -> None:
        self._request("DELETE", f"{entity_set}({row_id})")

    def batch(self, changesets: list[list[batch.Operation]]) -> list[batch.OperationResult]:
        """Change sets, each all-or-nothing, sent in as few $batch requests as Dataverse's limit
        of 1,000 operations a request allows; later change sets go on if one fails."""
        results: list[batch.OperationResult] = []
        for group in _chunks(changesets, MAX_BATCH):
            content_type, body = batch.encode(self.api_root, group)
            response = self._request(
                "POST",
                "$batch",
                content=body,
                headers={"Content-Type": content_type, "Prefer": "odata.continue-on-error"},
            )
            results += batch.decode(response.headers["Content-Type"], response.content)
        return results

    def _url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.api_root}/{path}"

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {
            "Accept": "application/json",
            "OData-MaxVersion": "4.0",
            "OData-Version": "4.0",
            **kwargs.pop("headers", {}),
        }
        refreshed = False
        last = ""
        failure: httpx.TransportError | None = None
        for attempt in range(self._attempts):
            headers["Authorization"] = f"Bearer {self._tokens.current()}"
            self._budget.acquire()
            self.calls += 1
            try:
                response = self.http.request(method, self._url(path), headers=headers, **kwargs)
            except httpx.TransportError as exc:
                failure = exc
                if isinstance(
                    transport_failure(exc, self.org_url, "dataverse"), ConfigurationError
                ):
                    break  # an untrusted certificate stays untrusted
                self._sleep(0.5 * 2**attempt)
                continue
            if response.status_code < 400:
                return response
            if response.status_code == 401 and not refreshed:
                self._tokens.invalidate()
                refreshed = True
                last = "HTTP 401 with a fresh token"
                continue
            if response.status_code in (401, 403):
                raise AuthorisationLost(
                    self._refused(response), status=response.status_code, service="dataverse"
                )
            if response.status_code == 404 and (table := _missing_table(response)):
                raise ConfigurationError(
                    f"the d365xero solution is not installed in {self.org_url} (it has no "
                    f"{table} table): build it with `d365xero solution build -o d365xero.zip`, "
                    "import it and give the application user its role (docs/SOLUTION.md)"
                )
            if response.status_code == 429 or response.status_code >= 500:
                self.throttled += response.status_code == 429
                last = f"HTTP {response.status_code}: {_message(response)}"
                wait = float(response.headers.get("Retry-After", 0.5 * 2**attempt))
                if response.status_code == 429:
                    self._budget.hold_off(wait)
                self._sleep(min(wait, 60.0))
                continue
            raise RemoteRejected(
                f"Dynamics refused {method} {path.split('?')[0]}: {_message(response)}",
                status=response.status_code,
                service="dataverse",
                code=_code(response),
            )
        if failure is not None and not last:
            raise transport_failure(failure, self.org_url, "dataverse") from failure
        raise TransientError(
            f"Dynamics at {self.org_url} did not answer after retries: {last}", service="dataverse"
        )

    def _refused(self, response: httpx.Response) -> str:
        message = _message(response)
        if response.status_code == 403 and (found := _PRIVILEGE.search(message)):
            return (
                f"the application user in {self.org_url} lacks the {found['privilege']} privilege "
                f"on the {found['table']} table: add it to the user's security role (the "
                'solution\'s role "d365xero integration" has it, docs/SOLUTION.md)'
            )
        return (
            f"Dynamics at {self.org_url} refused the connector (HTTP {response.status_code}: "
            f"{message}): check that an application user with the solution's role exists for "
            "this client id (docs/SOLUTION.md), or reconnect Dynamics"
        )


# Dataverse's PrivilegeDenied (0x80040220) names what is missing: "Principal user (Id=..., type=8,
# ...) is missing prvCreatedxc_synchistory privilege (Id=...) on OTC=... for entity
# 'dxc_synchistory' (LocalizedName='...')" (issues quoted in docs/EMULATORS.md).
_PRIVILEGE = re.compile(r"missing (?P<privilege>prv\w+) privilege.*?for entity '(?P<table>\w+)'")
_MISSING_SEGMENT = re.compile(r"Resource not found for the segment '(dxc_\w+)'")


def _missing_table(response: httpx.Response) -> str | None:
    found = _MISSING_SEGMENT.search(_message(response))
    return found.group(1) if found else None


def _message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error", {})
        return str(error.get("message") or error)
    except ValueError:
        return response.text[:300]


def _code(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error", {}).get("code") or "")
    except (ValueError, AttributeError):
        return ""


def _chunks(
    changesets: list[list[batch.Operation]], limit: int
) -> Iterator[list[list[batch.Operation]]]:
    group: list[list[batch.Operation]] = []
    size = 0
    for changeset in changesets:
        if group and size + len(changeset) > limit:
            yield group
            group, size = [], 0
        group.append(changeset)
        size += len(changeset)
    if group:
        yield group
