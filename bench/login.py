"""What a login costs the portal, server side: POST /login through the real app on a SQLite
store, for the right password, a wrong one, and an address with no account (which must cost
the same as a wrong password: argon2 runs against a dummy hash). Each attempt from its own
client address and the account throttle cleared, so nothing is throttled.

    .venv/bin/python -m bench.login [--rounds 30]
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path

from starlette.testclient import TestClient

from d365xero.config import Settings
from d365xero.jobs.runtime import open_runtime
from d365xero.portal.app import create_app
from d365xero.store import throttle
from d365xero.store.users import create_user

PASSWORD = "velvet tractor mango harbour"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory() as folder:
        runtime = open_runtime(Settings(data_dir=Path(folder)))
        app = create_app(runtime.settings, runtime=runtime)
        with runtime.sessions.begin() as session:
            create_user(session, "ada@example.com", PASSWORD)
        cases = {
            "right password": ("ada@example.com", PASSWORD),
            "wrong password": ("ada@example.com", "not the password at all"),
            "unknown address": ("nobody@example.com", PASSWORD),
        }
        timings: dict[str, list[float]] = {name: [] for name in cases}
        for n in range(rounds):
            for name, (email, password) in cases.items():
                client = TestClient(app, follow_redirects=False, client=(f"10.0.{n}.1", 1))
                token = _TOKEN.search(client.get("/login").text)
                assert token
                data = {"email": email, "password": password, "csrf_token": token.group(1)}
                started = time.perf_counter()
                answer = client.post("/login", data=data)
                timings[name].append((time.perf_counter() - started) * 1000)
                assert answer.status_code in (303, 400), answer.status_code
                with runtime.sessions.begin() as session:
                    throttle.clear_account(session, email)
        for name, values in timings.items():
            print(
                f"{name:16} median {statistics.median(values):6.1f} ms  "
                f"p90 {sorted(values)[int(len(values) * 0.9)]:6.1f} ms  ({len(values)} logins)"
            )
        runtime.close()


if __name__ == "__main__":
    main()
