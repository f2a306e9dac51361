"""The connector's side of a benchmark, in a process of its own: sync passes for the bench
connection until the backlog is exported (--expect) or a pass creates nothing, measured from
inside (CPU and peak memory of the passes alone, tracemalloc on request) and written as JSON to
--result.

Run by bench/push.py with the connector's environment (D365XERO_DATA_DIR, D365XERO_CA_BUNDLE);
its parent also takes the whole process's rusage from os.wait4.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import resource
import time
import tracemalloc
from pathlib import Path
from typing import Any

from d365xero.config import get_settings
from d365xero.jobs.passes import run_pass
from d365xero.jobs.runtime import open_runtime
from d365xero.store import connections


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _handshake(result: Path) -> None:
    result.with_suffix(".primed").touch()
    go = result.with_suffix(".go")
    while not go.exists():  # the parent loads the backlog meanwhile
        time.sleep(0.05)


def _traced() -> dict[str, int]:
    """Python memory now and at its peak during the pass just run (then the peak restarts)."""
    if not tracemalloc.is_tracing():
        return {}
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    return {"traced_current_bytes": current, "traced_peak_bytes": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--result", type=Path, required=True, help="Where to write the JSON.")
    parser.add_argument("--connection", default="Bench", help="The connection's name.")
    parser.add_argument("--expect", type=int, help="Stop once this many are created.")
    parser.add_argument("--max-passes", type=int, default=10, help="Stop after this many.")
    parser.add_argument("--tracemalloc", action="store_true", help="Also trace Python memory.")
    parser.add_argument("--profile", type=Path, help="Write a cProfile of the passes here.")
    parser.add_argument(
        "--prime",
        action="store_true",
        help="First one pass unmeasured (Xero's reference data cached, as in a long-running "
        "scheduler), then create <result>.primed and wait for <result>.go.",
    )
    args = parser.parse_args()

    runtime = open_runtime(get_settings())
    with runtime.sessions() as session:
        connection = connections.get_connection_by_name(session, args.connection)
        assert connection is not None, "no bench connection in the store"
        connection_id = connection.id
    if args.prime:
        run_pass(runtime, connection_id)
        _handshake(args.result)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if args.tracemalloc:
        tracemalloc.start()
    profiler = cProfile.Profile() if args.profile else None
    passes: list[dict[str, Any]] = []
    cpu0, wall0 = _cpu(), time.monotonic()
    for _ in range(args.max_passes):
        cpu, wall = _cpu(), time.monotonic()
        if profiler:
            profiler.enable()
        result = run_pass(runtime, connection_id)
        if profiler:
            profiler.disable()
        passes.append(
            {
                "status": result.status.value,
                "message": result.message,
                "counts": dict(result.report.counts),
                "xero_calls": result.xero_calls,
                "dataverse_calls": result.dataverse_calls,
                "cpu_s": _cpu() - cpu,
                "wall_s": time.monotonic() - wall,
                "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                **_traced(),
            }
        )
        created = sum(p["counts"].get("created", 0) for p in passes)
        if not result.report.count("created") or (args.expect and created >= args.expect):
            break
    out: dict[str, Any] = {
        "passes": passes,
        "cpu_s": _cpu() - cpu0,
        "wall_s": time.monotonic() - wall0,
        "maxrss_kib_before_passes": rss_before,
        "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    if args.tracemalloc:
        out["tracemalloc_peak_bytes"] = max(p["traced_peak_bytes"] for p in passes)
        tracemalloc.stop()
    if profiler and args.profile:
        profiler.dump_stats(args.profile)
        with args.profile.with_suffix(".txt").open("w") as text:
            pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(40)
    runtime.close()
    args.result.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
