"""The embedded scheduler: a pass over every active connection, again and again."""

from __future__ import annotations

import time
from collections.abc import Callable

from d365xero.errors import ConfigurationError
from d365xero.jobs.passes import PassResult, run_pass
from d365xero.jobs.runtime import Runtime
from d365xero.store import connections
from d365xero.store.models import ConnectionStatus


def connection_ids(runtime: Runtime, name: str | None = None) -> list[str]:
    with runtime.sessions() as session:
        if name is not None:
            found = connections.get_connection_by_name(session, name)
            if found is None:
                raise ConfigurationError(f"no connection named {name!r}")
            return [found.id]
        active = connections.list_connections(session, status=ConnectionStatus.active)
        return [c.id for c in active]


def summary(result: PassResult) -> str:
    r = result.report
    text = (
        f"{result.connection_name}: {r.count('created')} created, {r.count('failed')} failed, "
        f"{r.count('waiting')} waiting ({result.xero_calls} Xero calls, "
        f"{result.dataverse_calls} Dataverse calls)"
    )
    return text + (f" - {result.message}" if result.message else "")


def run_passes(
    runtime: Runtime,
    *,
    connection_name: str | None = None,
    once: bool = False,
    interval: float = 30.0,
    echo: Callable[[str], object] = print,
    on_result: Callable[[PassResult], object] | None = None,
) -> None:
    while True:
        for connection_id in connection_ids(runtime, connection_name):
            result = run_pass(runtime.settings, runtime.sessions, runtime.box, connection_id)
            echo(summary(result))
            if on_result:
                on_result(result)
        if once:
            return
        time.sleep(interval)
