"""The exit-code contract: which errors are bad usage or environment (2), which are a failure of
work done (1), which are bugs (not mapped), and that the message is always one line."""

from __future__ import annotations

import errno
import sqlite3

import pytest
import sqlalchemy as sa

from d365xero.errors import (
    AuthorisationLost,
    ConfigurationError,
    D365XeroError,
    InvoiceRejected,
    RemoteRejected,
    StoreError,
    StoreMissing,
    TransientError,
)
from d365xero.exits import FAILED, USAGE, exit_code, one_line


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ConfigurationError("no connection named 'x'"), USAGE),
        (StoreError("cannot decrypt connection secrets"), USAGE),
        (StoreMissing("no store yet"), USAGE),
        (OSError(errno.EADDRINUSE, "Address already in use"), USAGE),
        (sa.exc.OperationalError("select 1", {}, sqlite3.OperationalError("disk I/O")), USAGE),
        (AuthorisationLost("Xero refused the app's credentials"), FAILED),
        (TransientError("Xero did not answer"), FAILED),
        (RemoteRejected("Xero refused the invoice"), FAILED),
        (InvoiceRejected("Missing price list"), FAILED),
        (D365XeroError("anything else the connector means"), FAILED),
    ],
)
def test_each_kind_of_error_has_its_exit_code(error: BaseException, code: int) -> None:
    assert exit_code(error) == code


@pytest.mark.parametrize("bug", [KeyError("x"), AssertionError(), TypeError("bad call")])
def test_a_bug_is_not_mapped_so_it_keeps_its_traceback(bug: BaseException) -> None:
    assert exit_code(bug) is None


def test_the_message_is_one_line() -> None:
    assert one_line(ConfigurationError("first\n  second")) == "first second"
    assert one_line(OSError(errno.ENOENT, "No such file", "/x/y")) == "No such file: /x/y"
    database = sa.exc.OperationalError(
        "select * from connections", {}, sqlite3.OperationalError("no such table: connections")
    )
    message = one_line(database)
    assert message == "cannot use the store's database: no such table: connections"
    assert "select" not in message  # no SQL, no parameters
