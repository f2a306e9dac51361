"""What reading Xero back costs (issue 9): Xero calls a day for an idle connection at 5-minute
passes, and Xero and Dataverse calls for invoices going through created, authorised, part paid
and paid in Xero.

Both emulators run in their own processes (bench/stack.py, `d365xero emulate ... --tls --seed
--no-rate-limits`); the connector runs `run_pass` in this process, as `d365xero sync` does. The
counts are the connector's own, per step (each pass records them on its run), checked against
the emulators' counts of the API routes.

Idle day: a connection with `--linked` invoices exported and nothing happening; 288 passes, the
connector's clock moved 5 minutes a pass (the emulators' clocks are left alone: nothing in Xero
changes, and their tokens would expire). Run twice: as the connector is (Xero read every 10
minutes while idle) and reading Xero every pass.

Lifecycle: `--invoices` invoices (bench/backlog.py) pushed as drafts; then in Xero, through its
API, all approved, then all paid in half, then the rest paid; a pass after each, one more
at once, and two more with the connector's clock 11 and 22 minutes on (past the back-sync's
idle interval and the settling of its watermark).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from bench.backlog import Shape, XeroSetup, dataverse_client, load_invoices, prepare
from bench.push import machine, source, split_calls
from bench.stack import CONNECTION, Stack, start_stack
from d365xero.config import get_settings
from d365xero.jobs import passes
from d365xero.jobs.passes import PassResult, StepContext, run_pass
from d365xero.jobs.runtime import Runtime, open_runtime
from d365xero.store import connections
from d365xero.sync.backsync import BackSync
from d365xero.trust import ssl_context

PASS_EVERY = timedelta(minutes=5)
DAY = timedelta(days=1)
PER = 1000


@dataclass
class StepCalls:
    xero: dict[str, int] = field(default_factory=dict)
    dataverse: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)  # any step that did not succeed

    def add(self, result: PassResult) -> None:
        for step in result.steps:
            if step.status.value != "succeeded":
                self.failures.append(f"{step.name}: {step.status.value} {step.message}")
            self.xero[step.name] = self.xero.get(step.name, 0) + step.xero_calls
            self.dataverse[step.name] = self.dataverse.get(step.name, 0) + step.dataverse_calls


@contextmanager
def connector(stack: Stack) -> Iterator[tuple[Runtime, str]]:
    os.environ.update(stack.connector_env)
    runtime = open_runtime(get_settings())
    try:
        with runtime.sessions() as session:
            connection = connections.get_connection_by_name(session, CONNECTION)
            assert connection is not None, "no bench connection in the store"
            yield runtime, connection.id
    finally:
        runtime.close()


class Clock:
    """The connector's clock for a simulated day (passes._now is what a pass asks)."""

    def __init__(self) -> None:
        self.moment = datetime.now(UTC)

    def now(self) -> datetime:
        return self.moment


@contextmanager
def simulated(clock: Clock, every_pass: bool) -> Iterator[None]:
    saved_now, saved_steps = passes._now, passes.PASS_STEPS
    passes._now = clock.now
    if every_pass:

        def reading_every_pass(ctx: StepContext) -> BackSync:
            return BackSync(
                ctx.clients.xero, ctx.clients.dynamics, ctx.marks, ctx.now, idle_every=timedelta(0)
            )

        passes.PASS_STEPS = tuple(
            (name, reading_every_pass if name == "backsync" else make) for name, make in saved_steps
        )
    try:
        yield
    finally:
        passes._now, passes.PASS_STEPS = saved_now, saved_steps


@contextmanager
def later(offset: timedelta) -> Iterator[None]:
    """The connector's clock `offset` ahead of the real one (the emulators' are left alone)."""
    saved = passes._now
    passes._now = lambda: datetime.now(UTC) + offset
    try:
        yield
    finally:
        passes._now = saved


def idle_day(linked: int, every_pass: bool, workdir: Path) -> dict[str, Any]:
    with start_stack(workdir) as stack:
        shape = Shape(linked, customers=min(linked, 50))
        load_invoices(stack, shape, prepare(stack, shape), 0, linked)
        with connector(stack) as (runtime, connection_id):
            clock = Clock()
            with simulated(clock, every_pass):
                for _ in range(3):  # exported and read back; then nothing more happens
                    run_pass(runtime, connection_id)
                    clock.moment += PASS_EVERY
                stack.xero.clear_calls()
                calls = StepCalls()
                for _ in range(int(DAY / PASS_EVERY)):
                    clock.moment += PASS_EVERY
                    calls.add(run_pass(runtime, connection_id))
        emulator = split_calls(stack.xero.calls(), "/api.xro").api
    return {
        "linked": linked,
        "every_pass": every_pass,
        "xero_per_day": calls.xero,
        "total": sum(calls.xero.values()),
        "emulator_counted": emulator,
    }


def _xero_invoices(setup: XeroSetup) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    page = 1
    while True:
        response = setup.http.get(
            f"{setup.url}/api.xro/2.0/Invoices",
            params={"page": page, "pageSize": 1000, "summaryOnly": "true"},
            headers=setup.headers,
        )
        response.raise_for_status()
        batch = response.json()["Invoices"]
        found += [i for i in batch if i.get("Url")]  # the connector's (it sets Url)
        if len(batch) < 1000:
            return found
        page += 1


def _in_xero(setup: XeroSetup, path: str, collection: str, elements: list[dict[str, Any]]) -> None:
    for start in range(0, len(elements), 50):
        response = setup.http.post(
            f"{setup.url}/api.xro/2.0/{path}",
            json={collection: elements[start : start + 50]},
            headers=setup.headers,
            params={"summarizeErrors": "false"},
        )
        response.raise_for_status()


def _pay(
    setup: XeroSetup, invoices: list[dict[str, Any]], part: Callable[[Decimal], Decimal]
) -> None:
    payments = [
        {
            "Invoice": {"InvoiceID": i["InvoiceID"]},
            "Account": {"Code": "090"},
            "Amount": float(part(Decimal(str(i["AmountDue"])))),
        }
        for i in invoices
    ]
    _in_xero(setup, "Payments", "Payments", payments)


def lifecycle(invoices: int, workdir: Path) -> dict[str, Any]:
    stages: dict[str, StepCalls] = {}
    with start_stack(workdir) as stack:
        shape = Shape(invoices)
        load_invoices(stack, shape, prepare(stack, shape), 0, invoices)
        with (
            connector(stack) as (runtime, connection_id),
            httpx.Client(verify=ssl_context(stack.ca), timeout=600) as http,
        ):
            setup = XeroSetup(stack, http)

            def stage(name: str) -> None:
                calls = stages.setdefault(name, StepCalls())
                calls.add(run_pass(runtime, connection_id))

            stage("created")
            mine = _xero_invoices(setup)
            _in_xero(
                setup,
                "Invoices",
                "Invoices",
                [{"InvoiceID": i["InvoiceID"], "Status": "AUTHORISED"} for i in mine],
            )
            stage("authorised")
            _pay(setup, _xero_invoices(setup), lambda due: (due / 2).quantize(Decimal("0.01")))
            stage("part paid")
            _pay(setup, _xero_invoices(setup), lambda due: due)
            stage("paid")
            stage("nothing changed")  # the burst's last seconds are read again (the overlap)
            # Later, nothing changing: the connector's clock moved past the idle interval.
            offset = timedelta(0)
            for name in ("nothing changed, 11 min on", "nothing changed, 22 min on"):
                offset += timedelta(minutes=11)
                with later(offset):
                    stage(name)
            paid = sum(1 for i in _xero_invoices(setup) if i["Status"] == "PAID")
            params = {
                "$select": "invoiceid",
                "$filter": "statecode eq 2 and statuscode eq 100001 and startswith(name,'Bench')",
            }
            shown = sum(
                len(rows) for rows in dataverse_client(stack, http).pages("invoices", params)
            )
    return {
        "invoices": invoices,
        "paid_in_xero": paid,
        "paid_in_dynamics": shown,
        "stages": {name: asdict(calls) for name, calls in stages.items()},
    }


def _idle_table(runs: list[dict[str, Any]]) -> str:
    rows = [
        "| Xero read | Linked invoices | reference | push | backsync | Total a day | "
        "Emulator counted |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        per = run["xero_per_day"]
        rows.append(
            f"| {'every pass' if run['every_pass'] else 'every 10 min when idle'} "
            f"| {run['linked']} | {per.get('reference', 0)} | {per.get('push', 0)} "
            f"| {per.get('backsync', 0)} | {run['total']} | {run['emulator_counted']} |"
        )
    return "\n".join(rows)


def _lifecycle_table(run: dict[str, Any]) -> str:
    n = run["invoices"]
    rows = [
        "| Stage | Xero push | Xero backsync | Xero backsync per 1,000 | Dataverse push "
        "| Dataverse backsync | Dataverse backsync per 1,000 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, calls in run["stages"].items():
        x, d = calls["xero"], calls["dataverse"]
        rows.append(
            f"| {name} | {x.get('push', 0)} | {x.get('backsync', 0)} "
            f"| {PER * x.get('backsync', 0) / n:.2f} | {d.get('push', 0)} "
            f"| {d.get('backsync', 0)} | {PER * d.get('backsync', 0) / n:.2f} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invoices", type=int, default=10_000, help="Invoices in the lifecycle.")
    parser.add_argument("--linked", type=int, default=50, help="Invoices in the idle connection.")
    parser.add_argument("--skip-idle", action="store_true")
    parser.add_argument("--skip-lifecycle", action="store_true")
    parser.add_argument("--json", type=Path, help="Also write every figure here.")
    args = parser.parse_args()
    print(f"Connector: {source()}\nMachine: {machine()}")
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="d365xero-bench-") as tmp:
        if not args.skip_idle:
            out["idle"] = [
                idle_day(args.linked, every, Path(tmp) / f"idle-{every}") for every in (False, True)
            ]
            print("\nIdle connection, one day of 5-minute passes, Xero calls\n")
            print(_idle_table(out["idle"]))
        if not args.skip_lifecycle:
            out["lifecycle"] = lifecycle(args.invoices, Path(tmp) / "lifecycle")
            print(f"\n{args.invoices:,} invoices, one pass after each stage\n")
            print(_lifecycle_table(out["lifecycle"]))
            run = out["lifecycle"]
            print(
                f"\nAt the end: {run['paid_in_xero']:,} paid in Xero, "
                f"{run['paid_in_dynamics']:,} Paid / Complete in Dynamics"
            )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
