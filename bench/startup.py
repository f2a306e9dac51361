"""How long the command line takes to start and answer, for the commands that only read (issue
12): `--help`, `connection list`, `sync --dry-run`, `sync --once` with no connection, on a
migrated store and on an empty folder. Each command runs `--runs` times in its own process; the
best wall time and the CPU (user + system, of that process alone, from os.wait4) are reported.

    .venv/bin/python -m bench.startup [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = (
    ["--help"],
    ["sync", "--help"],
    ["connection", "list"],
    ["sync", "--dry-run"],
    ["sync", "--once"],
)
D365XERO = [sys.executable, "-m", "d365xero.cli"]


def _measure(args: list[str], env: dict[str, str], runs: int) -> tuple[float, float, int]:
    walls, cpus, code = [], [], 0
    for _ in range(runs):
        start = time.perf_counter()
        process = subprocess.Popen(
            [*D365XERO, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _, status, usage = os.wait4(process.pid, 0)
        walls.append(time.perf_counter() - start)
        cpus.append(usage.ru_utime + usage.ru_stime)
        code = os.waitstatus_to_exitcode(status)
    return min(walls), min(cpus), code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    base = {k: v for k, v in os.environ.items() if not k.startswith("D365XERO_")}
    with tempfile.TemporaryDirectory() as folder:
        store, empty = Path(folder) / "store", Path(folder) / "empty"
        subprocess.run(
            [*D365XERO, "db", "upgrade"],
            env={**base, "D365XERO_DATA_DIR": str(store)},
            check=True,
            capture_output=True,
        )
        print(f"{'command':28} {'store':>6} {'wall s':>7} {'CPU s':>6} {'exit':>4}")
        for where, data_dir in (("yes", store), ("empty", empty)):
            env = {**base, "D365XERO_DATA_DIR": str(data_dir)}
            for args in COMMANDS:
                wall, cpu, code = _measure(args, env, runs)
                line = f"d365xero {' '.join(args):19} {where:>6} {wall:7.2f} {cpu:6.2f} {code:4}"
                print(line)
            assert not empty.exists(), "a read-only command created the data folder"


if __name__ == "__main__":
    main()
