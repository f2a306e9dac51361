"""Runs one sync pass and kills its own process with SIGKILL at a named step of the engine:
`python -m tests.support.crash_pass CONNECTION_ID STEP` (settings from D365XERO_* variables).
Tests start it with `Stack.crash_pass`."""

from __future__ import annotations

import os
import signal
import sys

from d365xero.config import get_settings
from d365xero.jobs.passes import run_pass
from d365xero.jobs.runtime import open_runtime


def main(connection_id: str, step: str) -> None:
    def checkpoint(reached: str) -> None:
        if reached == step:
            os.kill(os.getpid(), signal.SIGKILL)

    runtime = open_runtime(get_settings())
    run_pass(runtime, connection_id, checkpoint)
    sys.exit(3)  # the step was never reached


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
