"""Exit codes of every command, and the one line that says why a command stopped.

0 done; 1 done but something failed (a pass failed or could not run, invoices failed, a peer
refused or did not answer); 2 bad usage or environment (an option out of range, a store that is
missing or unreachable, a secret key that cannot decrypt, a file or port the system refuses).
Cron and systemd read these: 1 is worth a look and may pass by itself, 2 will not until someone
changes the set-up.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, cast

from d365xero.errors import ConfigurationError, D365XeroError, StoreError

if TYPE_CHECKING:
    from sqlalchemy.exc import DBAPIError

DONE, FAILED, USAGE = 0, 1, 2

HELP = (
    "Exit codes: 0 done; 1 done but something failed (a pass failed or could not run, an "
    "invoice failed, Xero or Dynamics refused); 2 bad usage or environment (an option out of "
    "range, no store or an unreachable database, a secret key that cannot decrypt). The cause "
    "is one line on stderr."
)


def exit_code(exc: BaseException) -> int | None:
    """The code for an error that ends a command; None for one nobody meant (a bug), which
    keeps its traceback."""
    if isinstance(exc, ConfigurationError | StoreError):
        return USAGE
    if isinstance(exc, D365XeroError):
        return FAILED
    if isinstance(exc, OSError):  # a file, folder or port the system refuses
        return USAGE
    if _database_error(exc) is not None:
        return USAGE
    return None


def one_line(exc: BaseException) -> str:
    """What to print: the error's own message, on one line."""
    database = _database_error(exc)
    if database is not None:
        from d365xero.store.db import database_problem

        return str(database_problem(database))
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{where}"
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _database_error(exc: BaseException) -> DBAPIError | None:
    """A SQLAlchemy database error, if `exc` is one (without importing SQLAlchemy for it): the
    store went away, or is older than this version, after the command had opened it."""
    module = sys.modules.get("sqlalchemy.exc")
    if module is not None and isinstance(exc, module.DBAPIError):
        return cast("DBAPIError", exc)
    return None
