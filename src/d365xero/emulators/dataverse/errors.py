"""Errors the Dataverse emulator answers with, named after Dataverse's own.

Dataverse's shape is `{"error": {"code": "0x...", "message": "..."}}`; the hex code is unrelated to
the HTTP status (reference/dataverse.md §3; names and codes from PAD:includes/data-service-errors.md
and FakeXrmEasy's ErrorCodes.cs, which mirrors the platform list).
"""

from __future__ import annotations

from typing import Any

# Dataverse's OData payload errors all carry this preamble before the OData library's own message.
_PAYLOAD = (
    "Error identified in Payload provided by the user for Entity :'{entity_set}', For more "
    "information on this error please follow this help link "
    "https://go.microsoft.com/fwlink/?linkid=2195293  ---->  InnerException : "
    "Microsoft.OData.ODataException: {inner}"
)


class DataverseError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


class ObjectDoesNotExist(DataverseError):
    def __init__(self, entity: str, record_id: str) -> None:
        # Current wording (PAD:webapi/insomnia.md).
        super().__init__(
            404, "0x80040217", f"Entity '{entity}' With Id = {record_id} Does Not Exist"
        )


class ResourceNotFound(DataverseError):
    def __init__(self, segment: str) -> None:
        super().__init__(404, "0x8006088a", f"Resource not found for the segment '{segment}'.")


class QuerySyntaxError(DataverseError):
    """A malformed URL: bad key, bad $filter, unknown function."""

    def __init__(self, message: str = "Bad Request - Error in query syntax.") -> None:
        super().__init__(400, "0x80060888", message)


class PropertyNotFound(DataverseError):
    """An unknown property in $select/$filter/$orderby/$expand (names are case-sensitive)."""

    def __init__(self, name: str, entity: str) -> None:
        super().__init__(
            400,
            "0x80060888",
            f"Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.{entity}'.",
        )


class PayloadError(DataverseError):
    """A request body the OData reader rejects (0x80048d19, with OData's inner message)."""

    def __init__(self, entity_set: str, inner: str) -> None:
        super().__init__(400, "0x80048d19", _PAYLOAD.format(entity_set=entity_set, inner=inner))


class UnknownPayloadProperty(PayloadError):
    def __init__(self, entity_set: str, name: str, entity: str) -> None:
        super().__init__(
            entity_set,
            f"The property '{name}' does not exist on type 'Microsoft.Dynamics.CRM.{entity}'. "
            "Make sure to only use property names that are defined by the type or mark the type "
            "as open type.",
        )


class UndeclaredProperty(PayloadError):
    """`parentcustomerid@odata.bind` instead of `parentcustomerid_account@odata.bind`, or a
    custom lookup bound by its logical name instead of its SchemaName (Troubleshoot Web API
    client errors)."""

    def __init__(self, entity_set: str, name: str) -> None:
        super().__init__(
            entity_set,
            f"An undeclared property '{name}' which only has property annotations in the payload "
            "but no property value was found in the payload. In OData, only declared navigation "
            "properties and declared named streams can be represented as properties without "
            "values.",
        )


class InvalidJson(PayloadError):
    def __init__(self, entity_set: str, detail: str) -> None:
        super().__init__(entity_set, f"Invalid JSON. {detail}")


class LookupPropertyWrite(DataverseError):
    def __init__(self) -> None:
        super().__init__(
            400,
            "0x0",
            "CRM do not support direct update of Entity Reference properties, Use Navigation "
            "properties instead.",
        )


class ValidationError(DataverseError):
    """Lengths, option values, required columns (0x80044331, as in the $batch doc)."""

    def __init__(self, message: str) -> None:
        super().__init__(400, "0x80044331", f"A validation error occurred. {message}")


class InvalidArgument(DataverseError):
    def __init__(self, message: str) -> None:
        super().__init__(400, "0x80040203", message)


class ConcurrencyVersionMismatch(DataverseError):
    def __init__(self) -> None:
        super().__init__(
            412,
            "0x80060882",
            "The version of the existing record doesn't match the RowVersion property provided.",
        )


class DuplicateRecord(DataverseError):
    def __init__(self) -> None:
        super().__init__(412, "0x80040237", "A record with matching key values already exists.")


class InvalidStateCodeStatusCode(DataverseError):
    def __init__(self, status: int, state: int, entity: str) -> None:
        super().__init__(
            400,
            "0x80048408",
            f"{status} is not a valid status code for state code {entity}State.{state}",
        )


class InvalidState(DataverseError):
    """An operation on a record whose state forbids it: a Paid or Canceled invoice is read-only
    ("can't be edited unless they are reactivated", CE:sales/developer/entities/invoice.md)."""

    def __init__(self, message: str) -> None:
        super().__init__(400, "0x80040233", message)


class MethodNotAllowed(DataverseError):
    def __init__(self, method: str) -> None:
        super().__init__(
            405, "0x80060888", f"The HTTP method '{method}' is not allowed for this resource."
        )


class NotSupported(DataverseError):
    def __init__(self, message: str) -> None:
        super().__init__(400, "0x80060888", message)


class ChangeTrackingError(DataverseError):
    def __init__(self, message: str) -> None:
        super().__init__(400, "0x80060888", message)


class ExpiredDeltaToken(DataverseError):
    def __init__(self) -> None:
        # Tokens expire after Organization.ExpireChangeTrackingInDays (7 by default)
        # (PAD:use-change-tracking-synchronize-data-external-systems.md).
        super().__init__(
            400,
            "0x80044352",
            "The specified version stamp has expired. Delete the local copy of the data and "
            "retrieve all rows again.",
        )


class TooManyRequests(DataverseError):
    """Service protection limits (PAD:api-limits.md)."""

    def __init__(self, code: str, message: str, retry_after: int) -> None:
        super().__init__(429, code, message)
        self.retry_after = retry_after


class BatchError(DataverseError):
    def __init__(self, message: str) -> None:
        super().__init__(400, "0x80048d19", message)


class UrlTooLong(DataverseError):
    """GET URLs are limited to 32,768 characters, 65,536 inside $batch (PAD:webapi/query/
    overview.md); the status and wording of the refusal are this emulator's."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            414,
            "0x80060888",
            f"The request URL is longer than {limit:,} characters. Send long queries in a $batch "
            "request.",
        )
