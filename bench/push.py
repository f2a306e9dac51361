"""Benchmark of the invoice push: API calls per 50 invoices, the connector's CPU per invoice and
its peak memory, for backlogs of ready invoices.

For each backlog size: both emulators start in their own processes (`d365xero emulate ... --tls
--seed --no-rate-limits`: Xero's rate limits and Dataverse's service protection off), a
connection is made with `d365xero connection add`, the backlog is loaded in $batch requests,
the emulators' call counts are cleared, then the connector runs sync passes in a process of its
own (bench/pass_once.py) until the backlog is exported. Calls are counted by the emulators
(GET /_emulator/calls); CPU and max RSS of the connector process come from os.wait4.

    .venv/bin/python -m bench.push --invoices 50 1000 5000
    .venv/bin/python -m bench.push --invoices 50 1000 5000 --steady
    .venv/bin/python -m bench.push --invoices 50 1000 5000 --cold
    .venv/bin/python -m bench.push --invoices 1000 5000 20000
    .venv/bin/python -m bench.push --invoices 1000 5000 --tracemalloc

docs/BENCHMARKS.md has the results and what they mean.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import d365xero
from bench.backlog import Shape, load_invoices, prepare
from bench.stack import start_stack

REPO = Path(__file__).resolve().parent.parent
PER = 50  # invoices per Xero request, and the unit the goals are stated in


@dataclass
class Calls:
    api: int = 0
    token: int = 0
    routes: dict[str, int] = field(default_factory=dict)


def split_calls(counts: dict[str, int], api_prefix: str) -> Calls:
    """API calls (routes under `api_prefix`) apart from token and discovery calls."""
    calls = Calls(routes=dict(sorted(counts.items())))
    for key, n in counts.items():
        route = key.split(" ", 1)[1]
        if route.startswith(api_prefix):
            calls.api += n
        else:
            calls.token += n
    return calls


@dataclass
class Run:
    invoices: int
    warm: bool
    steady: bool
    load_s: float
    created: int
    passes: int
    xero: Calls
    dataverse: Calls
    cpu_s: float  # the passes alone, measured inside the connector process
    process_cpu_s: float  # the whole connector process (imports, store, passes), from wait4
    maxrss_mib: float  # the connector process's peak resident set, from wait4
    wall_s: float
    tracemalloc_peak_mib: float | None
    emulator_cpu_s: tuple[float, float]  # Xero's and Dataverse's, while the connector ran
    detail: dict[str, Any]

    @property
    def per_50(self) -> float:
        return max(self.created, 1) / PER

    def row(self) -> str:
        traced = f"{self.tracemalloc_peak_mib:.1f}" if self.tracemalloc_peak_mib else "-"
        return (
            f"| {self.invoices:,} | {'exist' if self.warm else 'created'} "
            f"| {'steady' if self.steady else 'first'} | {self.created:,} "
            f"| {self.passes} | {self.xero.api} | {self.xero.api / self.per_50:.2f} "
            f"| {self.dataverse.api} | {self.dataverse.api / self.per_50:.2f} "
            f"| {self.xero.token} / {self.dataverse.token} "
            f"| {1000 * self.cpu_s / max(self.created, 1):.2f} | {self.process_cpu_s:.1f} "
            f"| {self.maxrss_mib:.0f} | {traced} | {self.wall_s:.1f} "
            f"| {self.emulator_cpu_s[0]:.1f} / {self.emulator_cpu_s[1]:.1f} |"
        )


HEADER = (
    "| Backlog | Contacts, items | Pass | Created | Passes | Xero calls | Xero per 50 "
    "| Dataverse calls | Dataverse per 50 | Token calls X / D | CPU ms per invoice "
    "| Process CPU s | Max RSS MiB | tracemalloc peak MiB | Passes wall s "
    "| Emulators' CPU s X / D |\n"
    "|---:|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|"
)


def _command(result: Path, invoices: int, args: argparse.Namespace) -> list[str]:
    command = [
        sys.executable, "-m", "bench.pass_once", "--result", str(result),
        "--expect", str(invoices), "--max-passes", str(args.max_passes),
    ]  # fmt: skip
    if args.steady:
        command.append("--prime")
    if args.tracemalloc:
        command.append("--tracemalloc")
    if args.profile:
        command += ["--profile", str(args.profile / f"push-{invoices}.prof")]
    return command


def _wait_for(path: Path, child: subprocess.Popen[bytes], deadline: float) -> None:
    while not path.exists():
        if child.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the connector did not finish its priming pass")
        time.sleep(0.05)


def measure(invoices: int, args: argparse.Namespace, workdir: Path) -> Run:
    """One backlog size on a fresh stack. Steady: the connector process first exports one
    invoice (its reference data then cached), then the backlog arrives."""
    shape = Shape(invoices, customers=args.customers, products=args.products, warm=not args.cold)
    result = workdir / "result.json"
    with start_stack(workdir) as stack:
        refs = prepare(stack, shape)
        path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
        env = dict(stack.connector_env, PYTHONPATH=path)
        child: subprocess.Popen[bytes] | None = None
        if args.steady:
            load_invoices(stack, shape, refs, invoices, 1)
            child = subprocess.Popen(_command(result, invoices, args), env=env, cwd=REPO)
            _wait_for(result.with_suffix(".primed"), child, time.monotonic() + 300)
        started = time.monotonic()
        load_invoices(stack, shape, refs, 0, invoices)
        load_s = time.monotonic() - started
        stack.xero.clear_calls()
        stack.dataverse.clear_calls()
        emulator_cpu = stack.xero.cpu_seconds(), stack.dataverse.cpu_seconds()
        if child is None:
            child = subprocess.Popen(_command(result, invoices, args), env=env, cwd=REPO)
        result.with_suffix(".go").touch()
        process_cpu, maxrss_kib = _wait4(child, args.timeout)
        emulator_cpu = (
            stack.xero.cpu_seconds() - emulator_cpu[0],
            stack.dataverse.cpu_seconds() - emulator_cpu[1],
        )
        xero = split_calls(stack.xero.calls(), "/api.xro")
        dataverse = split_calls(stack.dataverse.calls(), "/api/data")
    out = json.loads(result.read_text())
    peak = out.get("tracemalloc_peak_bytes")
    return Run(
        invoices=invoices,
        warm=shape.warm,
        steady=args.steady,
        load_s=load_s,
        created=sum(p["counts"].get("created", 0) for p in out["passes"]),
        passes=len(out["passes"]),
        xero=xero,
        dataverse=dataverse,
        cpu_s=out["cpu_s"],
        process_cpu_s=process_cpu,
        maxrss_mib=maxrss_kib / 1024,
        wall_s=out["wall_s"],
        tracemalloc_peak_mib=peak / 2**20 if peak is not None else None,
        emulator_cpu_s=emulator_cpu,
        detail=out,
    )


def _wait4(child: subprocess.Popen[bytes], timeout: float) -> tuple[float, float]:
    """The child's (CPU seconds, max RSS KiB), from os.wait4: that process alone."""
    watchdog = threading.Timer(timeout, child.kill)  # a bench run stays bounded
    watchdog.start()
    try:
        _, status, usage = os.wait4(child.pid, 0)
    finally:
        watchdog.cancel()
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"the connector exited with {child.returncode} (timeout {timeout} s?)")
    return usage.ru_utime + usage.ru_stime, float(usage.ru_maxrss)


def source() -> str:
    """Which connector is measured: the package's folder and its git commit."""
    folder = Path(d365xero.__file__).resolve().parent.parent.parent
    done = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=folder, capture_output=True, text=True
    )
    return f"{folder} at {done.stdout.strip() or 'an unknown commit'}"


def machine() -> str:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--invoices", type=int, nargs="+", default=[50, 1000, 5000], help="Backlog sizes."
    )
    parser.add_argument(
        "--cold", action="store_true", help="Contacts and items do not exist in Xero yet."
    )
    parser.add_argument(
        "--steady",
        action="store_true",
        help="Measure a connector process that has already run a pass (reference data cached).",
    )
    parser.add_argument("--customers", type=int, default=50, help="Distinct customer accounts.")
    parser.add_argument("--products", type=int, default=10, help="Distinct products.")
    parser.add_argument("--tracemalloc", action="store_true", help="Trace Python allocations.")
    parser.add_argument("--profile", type=Path, help="A folder for cProfile output per size.")
    parser.add_argument("--max-passes", type=int, default=20, help="Passes at most per size.")
    parser.add_argument(
        "--timeout", type=float, default=3600, help="Seconds the connector may take per size."
    )
    parser.add_argument("--json", type=Path, help="Also write every figure here.")
    args = parser.parse_args()
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)

    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}; connector {source()}")
    runs: list[Run] = []
    for invoices in args.invoices:
        with tempfile.TemporaryDirectory(prefix="d365xero-bench-") as tmp:
            run = measure(invoices, args, Path(tmp))
        runs.append(run)
        print(
            f"{invoices:,} invoices loaded in {run.load_s:.1f} s; {run.created:,} created in "
            f"{run.passes} pass(es), {run.wall_s:.1f} s",
            file=sys.stderr,
        )
    print(HEADER)
    for run in runs:
        print(run.row())
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in runs], indent=2, default=str))


if __name__ == "__main__":
    main()
