"""The embedded scheduler: a pass over every active connection, again and again."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from d365xero.errors import ConfigurationError, D365XeroError
from d365xero.jobs.passes import DryRunResult, PassResult, run_pass
from d365xero.jobs.runtime import Runtime
from d365xero.store import connections
from d365xero.store.models import ConnectionStatus, RunStatus


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
    if result.status is RunStatus.skipped:
        return f"{result.connection_name}: {result.message}"
    r = result.report
    counts = (
        f"{r.count('created')} created, {r.count('updated')} updated, {r.count('failed')} failed"
    )
    for extra in ("refused", "deferred", "unrecorded"):
        if r.count(extra):
            counts += f", {r.count(extra)} {extra}"
    text = (
        f"{result.connection_name}: {counts} ({result.xero_calls} Xero calls, "
        f"{result.dataverse_calls} Dataverse calls)"
    )
    return text + (f" - {result.message}" if result.message else "")


def run_passes(
    runtime: Runtime,
    *,
    connection_name: str | None = None,
    once: bool = False,
    interval: float = 30.0,
    wait: float = 0.0,
    echo: Callable[[str], object] = print,
    on_result: Callable[[PassResult], object] | None = None,
) -> None:
    """Passes over the connections, once or every `interval` seconds. A connection whose pass
    is already running elsewhere is skipped (after waiting up to `wait` seconds), and said so."""
    told = False
    while True:
        ids = connection_ids(runtime, connection_name)
        if not ids and not told:
            echo("No active connection: add one with `d365xero connection add`.")
            told = True
        for connection_id in ids:
            try:
                result = run_pass(runtime, connection_id, wait=wait)
            except D365XeroError as exc:  # this connection cannot run; the others still do
                echo(f"error: {exc}")
                continue
            echo(summary(result))
            if on_result:
                on_result(result)
        if once:
            return
        time.sleep(interval)


def describe_dry_run(result: DryRunResult) -> str:
    """Invoice by invoice, what a pass would send and why anything would fail."""
    lines = [f"Dry run for {result.connection_name} (nothing is sent or written)"]
    intentions = result.intentions
    for name in intentions.contacts:
        lines.append(f"  would create Xero contact: {name}")
    for code in intentions.items:
        lines.append(f"  would create Xero item: {code}")
    labels = {"created": "would be created in Xero", "failed": "would fail", "waiting": "waits"}
    for outcome in result.report.outcomes:
        lines.append(f"- {outcome.invoice_name}: {labels.get(outcome.result, outcome.result)}")
        if outcome.message:
            lines.append(f"    {outcome.message}")
        payload = intentions.invoices.get(outcome.invoice_id)
        if payload is not None:
            body = json.dumps(payload, indent=2, default=str)
            lines += ["    " + line for line in body.splitlines()]
    if not result.report.outcomes:
        lines.append("  no invoice is ready")
    return "\n".join(lines)
