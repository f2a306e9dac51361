"""The embedded scheduler: a pass over every connection, again and again, saying what each did
(a paused one says so, and how to resume it, rather than being skipped in silence)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from d365xero.errors import ConfigurationError, D365XeroError
from d365xero.jobs.passes import DryRunResult, PassResult, run_pass
from d365xero.jobs.runtime import Runtime
from d365xero.store import connections
from d365xero.store.models import RunStatus


def connections_to_run(runtime: Runtime, name: str | None = None) -> list[tuple[str, str]]:
    """(id, name) of the named connection, or of every connection (paused ones included: their
    pass says they are paused)."""
    with runtime.sessions() as session:
        if name is not None:
            found = connections.find_connection(session, name)
            if found is None:
                raise ConfigurationError(f"no connection named {name!r}")
            return [(found.id, found.name)]
        return [(c.id, c.name) for c in connections.list_connections(session)]


def summary(result: PassResult) -> str:
    if result.status is RunStatus.skipped:
        return f"{result.connection_name}: {result.message}"
    if result.message.startswith("paused"):
        return f"{result.connection_name}: not synced, {result.message}"
    if result.message.startswith("not synced"):  # its trial or subscription has ended
        return f"{result.connection_name}: {result.message}"
    r = result.report
    counts = (
        f"{r.count('created')} created, {r.count('updated')} updated, {r.count('failed')} failed"
    )
    for extra in ("refused", "deferred", "unrecorded"):
        # "waiting" is left out: those invoices are not due yet, which is no news
        if r.count(extra):
            counts += f", {r.count(extra)} {extra}"
    text = (
        f"{result.connection_name}: {counts} ({result.xero_calls} Xero calls, "
        f"{result.dataverse_calls} Dataverse calls)"
    )
    return text + (f" - {result.message}" if result.message else "")


CHANGED = {
    "created": "created in Xero",
    "updated": "updated in Xero",
    "failed": "failed",
    "refused": "not updated in Xero",
    "deferred": "deferred",
    "unrecorded": "not recorded in Dynamics",
}


def invoice_lines(result: PassResult) -> list[str]:
    """A line per invoice the pass changed or could not change, with the reason."""
    lines = []
    for o in result.report.outcomes:
        if o.result not in CHANGED:
            continue  # waiting: not due yet
        what = CHANGED[o.result] + (f" as {o.xero_number}" if o.xero_number else "")
        reason = " ".join(o.message.split())
        if reason:
            what += f" - {reason}"
        lines.append(f"  {o.invoice_name or 'a write-back'}: {what}")
    return lines


def run_passes(
    runtime: Runtime,
    *,
    connection_name: str | None = None,
    once: bool = False,
    interval: float = 30.0,
    wait: float = 0.0,
    echo: Callable[[str], object] = print,
    on_result: Callable[[PassResult], object] | None = None,
    on_error: Callable[[str, D365XeroError], object] | None = None,
    invoices: bool = False,
) -> None:
    """Passes until interrupted (or one with `once`). A connection whose pass is already running
    elsewhere is skipped (after waiting up to `wait` seconds), and said so. A connection that
    cannot run is given to `on_error` with its name (default: a line through `echo`), and the
    others still run; with `invoices`, each pass's summary is followed by a line per invoice it
    changed."""
    told = False
    while True:
        found = connections_to_run(runtime, connection_name)
        if not found and not told:
            echo(connections.NONE_YET)
            told = True
        for connection_id, name in found:
            try:
                result = run_pass(runtime, connection_id, wait=wait)
            except D365XeroError as exc:  # this connection cannot run; the others still do
                if on_error:
                    on_error(name, exc)
                else:
                    echo(f"error: {name}: {exc}")
                continue
            echo(summary(result))
            if invoices:
                for line in invoice_lines(result):
                    echo(line)
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
