"""Runs one sync pass in its own process and prints what `sync --once` prints:
`python -m tests.support.pass_process CONNECTION_ID [--start-when FILE] [--hold-at STEP FILE]`
(settings from D365XERO_* variables).

--start-when FILE  touch FILE.<pid>.ready once the store is open, then start when FILE exists
                   (several processes start their passes at the same moment).
--hold-at STEP FILE  at the engine's step STEP, touch FILE.reached and wait until FILE exists.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from d365xero.config import get_settings
from d365xero.jobs.passes import run_pass
from d365xero.jobs.runtime import open_runtime
from d365xero.jobs.scheduler import summary


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + 120
    while not path.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"{path} never appeared")
        time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("connection_id")
    parser.add_argument("--start-when", type=Path)
    parser.add_argument("--hold-at", nargs=2, metavar=("STEP", "FILE"))
    args = parser.parse_args()

    def checkpoint(reached: str) -> None:
        if args.hold_at and reached == args.hold_at[0]:
            release = Path(args.hold_at[1])
            Path(f"{release}.reached").touch()
            _wait_for(release)

    runtime = open_runtime(get_settings())
    try:
        if args.start_when:
            Path(f"{args.start_when}.{os.getpid()}.ready").touch()
            _wait_for(args.start_when)
        print(summary(run_pass(runtime, args.connection_id, checkpoint)), flush=True)
    finally:
        runtime.close()


if __name__ == "__main__":
    main()
