"""The Synchronisation Center's imports: one kind of Xero's reference data into Dynamics,
started by a button and run in the background, with its progress and result in the store
(store.imports) for the page to show.

The work is `sync.reference.sync_reference_data`, the same as `d365xero reference-data --only`
(the order rule included). An import holds its connection's pass lock (store.locks) from the
moment it is started until its result is recorded, so it never runs twice at once for one
connection, nor beside a pass (whose reference step writes the same rows), in any process. The
request that starts it takes the lock, so a refusal is its answer; the thread releases it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

from d365xero.errors import D365XeroError, PassInProgress
from d365xero.jobs.runtime import Runtime
from d365xero.store import connections, imports, locks
from d365xero.store.models import ReferenceImport
from d365xero.sync.reference import CREATED, sync_reference_data

log = structlog.get_logger(__name__)

# What the live progress says, by stage reached (the row's `stage`): 0 started, 3 done.
STAGES = (
    "Checking what Dynamics already has",
    "Reading Xero",
    "Writing to Dynamics",
    "Done",
)
_STAGE_AFTER = {"checked": 1, "read": 2}

Start = Callable[[Callable[[], None]], None]
# The imports this process runs: known to be alive without asking the lock (each poll would).
_live: set[int] = set()
_live_guard = threading.Lock()


def start_import(
    runtime: Runtime, connection_id: str, kind: str, start: Start | None = None
) -> int:
    """The new import's id; it runs in the runtime's background (or `start` is given the
    work). Raises PassInProgress while this connection's import or pass runs."""
    lock = locks.take_pass_lock(runtime.engine, connection_id)
    try:
        with runtime.sessions.begin() as session:
            imports.interrupt(session, connection_id)  # the lock is ours: nobody runs those
            import_id = imports.start_import(session, connection_id, kind).id
    except BaseException:
        lock.release()
        raise

    def work() -> None:
        try:
            run_import(runtime, connection_id, kind, import_id)
        finally:
            lock.release()  # after the result is recorded: a poll never sees it running alone
            with _live_guard:
                _live.discard(import_id)

    with _live_guard:
        _live.add(import_id)

    if start is None:
        runtime.in_background(work, "reference-import")
    else:
        start(work)
    return import_id


def run_import(runtime: Runtime, connection_id: str, kind: str, import_id: int) -> None:
    """The import itself, its result recorded on its row whatever happens."""
    status, counts, message = imports.FAILED, {}, None
    try:
        counts = _import(
            runtime, connection_id, kind, lambda stage: _stage(runtime, import_id, stage)
        )
        status = imports.DONE
    except D365XeroError as exc:
        message = str(exc)
    except Exception:  # recorded, not swallowed: the log has the traceback
        log.exception("reference import failed", connection_id=connection_id, kind=kind)
        message = "The import failed unexpectedly; the connector's log says why."
    with runtime.sessions.begin() as session:
        row = session.get(ReferenceImport, import_id)
        if row is not None:
            row.stage = len(STAGES) - 1 if status == imports.DONE else row.stage
            imports.finish(row, status, message=message, **_result(counts))


def _import(
    runtime: Runtime, connection_id: str, kind: str, reached: Callable[[str], None]
) -> dict[str, int]:
    with runtime.sessions() as session:
        connection = connections.get_connection(session, connection_id)
        if connection is None:
            raise D365XeroError("the connection was removed")
        secrets = connections.read_secrets(runtime.box, connection)
        session.expunge(connection)
    # Clients of its own: the thread must not share a pass's (the lock keeps passes out, but a
    # dry run or the dashboard may use the cached ones meanwhile).
    with runtime.new_clients(connection, secrets) as clients:
        _, counts = sync_reference_data(
            clients.xero,
            clients.dynamics,
            connection.xero_tenant_id or "",
            (kind,),
            reached=reached,
        )
    # What the push checks invoices against is cached; the next pass reads Xero's afresh.
    runtime.xero_cache.forget(connection.xero_tenant_id or "")
    return counts


def _stage(runtime: Runtime, import_id: int, stage: str) -> None:
    with runtime.sessions.begin() as session:
        row = session.get(ReferenceImport, import_id)
        if row is not None:
            row.stage = _STAGE_AFTER[stage]


def _result(counts: dict[str, int]) -> dict[str, int]:
    """created / updated / deactivated, from sync_reference_data's counts by table."""
    written = sum(n for table, n in counts.items() if " " not in table)
    created = sum(n for table, n in counts.items() if table.endswith(CREATED))
    gone = sum(n for table, n in counts.items() if table.endswith(" deactivated"))
    return {"created": created, "updated": written - created, "deactivated": gone}


def import_running(runtime: Runtime, connection_id: str) -> bool:
    """Whether the connection's newest running import is really running: a row left running
    by a process that died is failed here (the lock is free, so nobody runs it)."""
    with runtime.sessions() as session:
        running = {row.id for row in imports.running_imports(session, connection_id)}
    if not running:
        return False
    with _live_guard:
        if running <= _live:
            return True  # this process runs them
    try:
        lock = locks.take_pass_lock(runtime.engine, connection_id)
    except PassInProgress:
        return True  # held: by the import (or by a pass, which ends soon, and then we know)
    try:
        with runtime.sessions.begin() as session:
            imports.interrupt(session, connection_id)
    finally:
        lock.release()
    return False
