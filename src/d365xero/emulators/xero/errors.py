"""Errors of the Xero emulator, named after the Xero errors they imitate (reference/xero.md §5).

XeroError
├── ValidationException        400 {"ErrorNumber":10,"Type":"ValidationException",...}
├── QueryParseException        400 for a `where` or `order` Xero cannot parse
├── NotFound                   404, plain text
├── Unauthorized               401 ProblemDetails (TokenExpired, AuthenticationUnsuccessful)
├── Forbidden                  403 ProblemDetails (AuthenticationUnsuccessful, scopes)
├── RateLimited                429 with X-Rate-Limit-Problem and Retry-After
└── OAuthError                 400 {"error": "invalid_client" | "invalid_grant" | ...}
"""

from __future__ import annotations

from typing import Any


class XeroError(Exception):
    status = 500


class ValidationException(XeroError):
    """One or more elements failed validation; `elements` are echoed with their errors."""

    status = 400

    def __init__(self, elements: list[dict[str, Any]], message: str = "") -> None:
        super().__init__(message or "A validation exception occurred")
        self.elements = elements
        self.message = message or "A validation exception occurred"


class ElementInvalid(XeroError):
    """Raised inside the model for one element; the batch logic turns it into ValidationErrors."""

    status = 400

    def __init__(self, *messages: str) -> None:
        super().__init__("; ".join(messages))
        self.messages = list(messages)


class QueryParseException(XeroError):
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(XeroError):
    status = 404


class Unauthorized(XeroError):
    status = 401

    def __init__(self, detail: str = "AuthenticationUnsuccessful") -> None:
        super().__init__(detail)
        self.detail = detail


class Forbidden(XeroError):
    status = 403

    def __init__(self, detail: str = "AuthenticationUnsuccessful") -> None:
        super().__init__(detail)
        self.detail = detail


class RateLimited(XeroError):
    status = 429

    def __init__(
        self, problem: str, retry_after: int, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(problem)
        self.problem = problem
        self.retry_after = retry_after  # 0: no Retry-After (the concurrent limit)
        self.headers = headers or {}


class OAuthError(XeroError):
    status = 400

    def __init__(self, error: str, description: str = "") -> None:
        super().__init__(error)
        self.error = error
        self.description = description
