"""Runs one sync pass and kills its own process with SIGKILL at a named step of the engine:
`python -m tests.support.crash_pass CONNECTION_ID STEP` (settings from D365XERO_* variables)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from d365xero.config import Settings, get_settings
from d365xero.jobs.passes import run_pass
from d365xero.jobs.runtime import open_runtime


def main(connection_id: str, step: str) -> None:
    def checkpoint(reached: str) -> None:
        if reached == step:
            os.kill(os.getpid(), signal.SIGKILL)

    runtime = open_runtime(get_settings())
    run_pass(runtime, connection_id, checkpoint)
    sys.exit(3)  # the step was never reached


def crash_at(settings: Settings, connection_id: str, step: str) -> None:
    """Runs a pass in a child process on the store of `settings`, killed at `step`; fails the
    test unless it was (a step never reached exits 3)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("D365XERO_")}
    env.update(
        D365XERO_DATA_DIR=str(settings.data_dir),
        D365XERO_DATABASE_URL=settings.database(),
        D365XERO_CA_BUNDLE=str(settings.ca_bundle),
    )
    crashed = subprocess.run(
        [sys.executable, "-m", "tests.support.crash_pass", connection_id, step],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stdout + crashed.stderr


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
