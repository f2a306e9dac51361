"""The connector's exceptions, named by the kind of failure.

D365XeroError
├── ConfigurationError      set up wrongly (bad URL, missing key, no such connection)
├── InvoiceRejected         one invoice cannot sync; the message is for its Sync History
├── RemoteError             a peer (Xero or Dataverse) answered with an error
│   ├── TransientError      worth retrying: 429, 5xx, timeouts, dropped connections
│   ├── AuthorisationLost   consent revoked or expired: pause the connection, mark nothing Failed
│   └── RemoteRejected      the peer refused the request as given (4xx other than auth)
└── StoreError              the connector's own database (unreachable, unreadable secrets)
    ├── PassInProgress      another pass of the connection holds its lock (store.locks)
    └── StoreMissing        no store at the configured place yet (nothing was created)
"""

from __future__ import annotations


class D365XeroError(Exception):
    """Base of every error the connector raises on purpose."""


class ConfigurationError(D365XeroError):
    pass


class InvoiceRejected(D365XeroError):
    """An invoice that cannot sync; `str(exc)` is the Sync History text."""


class RemoteError(D365XeroError):
    def __init__(self, message: str, *, status: int | None = None, service: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.service = service


class TransientError(RemoteError):
    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        service: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, service=service)
        self.retry_after = retry_after


class AuthorisationLost(RemoteError):
    pass


class RemoteRejected(RemoteError):
    def __init__(
        self, message: str, *, status: int | None = None, service: str = "", code: str = ""
    ) -> None:
        super().__init__(message, status=status, service=service)
        self.code = code  # the peer's own error code where it has one (Dataverse: 0x80044352)


class StoreError(D365XeroError):
    pass


class PassInProgress(StoreError):
    """Another pass of the same connection holds its lock; `str(exc)` names the holder."""


class StoreMissing(StoreError):
    """A command that only reads found no store; it creates none (see `d365xero.exits`)."""
