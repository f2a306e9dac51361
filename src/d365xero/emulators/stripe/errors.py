"""Errors of the Stripe stand-in, named after Stripe's error types (docs.stripe.com/api/errors):
every one answers `{"error": {"type", "code", "message", "param"}}` with its HTTP status.

StripeError
├── InvalidRequest     400 invalid_request_error (parameter_missing, parameter_invalid_*, ...)
├── ResourceMissing    404 invalid_request_error, code resource_missing ("No such customer: ...")
├── Authentication     401 invalid_request_error, no or a wrong API key
└── CardError          402 card_error (card_declined, incorrect_number, invalid_expiry_*, ...)
"""

from __future__ import annotations

from typing import Any


class StripeError(Exception):
    status = 500
    type = "api_error"

    def __init__(self, message: str, *, code: str | None = None, param: str | None = None):
        super().__init__(message)
        self.message, self.code, self.param = message, code, param

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        return {"error": error}


class InvalidRequest(StripeError):
    status = 400
    type = "invalid_request_error"


class ResourceMissing(InvalidRequest):
    status = 404

    def __init__(self, kind: str, object_id: str, param: str = "id") -> None:
        super().__init__(f"No such {kind}: '{object_id}'", code="resource_missing", param=param)


class Authentication(StripeError):
    status = 401
    type = "invalid_request_error"


class CardError(StripeError):
    status = 402
    type = "card_error"

    def __init__(self, message: str, *, code: str, decline_code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.decline_code = decline_code

    def body(self) -> dict[str, Any]:
        body = super().body()
        if self.decline_code:
            body["error"]["decline_code"] = self.decline_code
        return body
