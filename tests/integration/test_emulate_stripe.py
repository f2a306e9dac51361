"""`d365xero emulate stripe` in its own process: it prints the settings that point `serve` at
it, answers the official stripe SDK on its port, and sends its events where --webhook-url says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import stripe

from d365xero.billing.client import stripe_client
from d365xero.config import Settings

D365XERO = [sys.executable, "-m", "d365xero.cli"]


def test_emulate_stripe_prints_its_settings_and_answers_the_sdk(tmp_path: Path) -> None:
    env = {**os.environ, "D365XERO_DATA_DIR": str(tmp_path)}
    process = subprocess.Popen(
        [
            *D365XERO,
            "emulate",
            "stripe",
            "--port",
            "0",
            "--webhook-url",
            "http://127.0.0.1:9/webhooks/stripe",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        printed = ""
        while "emulator on" not in printed:
            line = process.stdout.readline()
            assert line, printed
            printed += line
        url = re.search(r"D365XERO_STRIPE_URL=(\S+)", printed)
        key = re.search(r"D365XERO_STRIPE_SECRET_KEY=(\S+)", printed)
        assert url and key, printed
        assert "D365XERO_STRIPE_WEBHOOK_SECRET=whsec_" in printed
        assert "Webhook events go to http://127.0.0.1:9/webhooks/stripe" in printed
        settings = Settings(stripe_url=url[1], stripe_secret_key=key[1])
        with httpx.Client(timeout=10) as http:
            customer = stripe_client(settings, http).v1.customers.create({"email": "a@b.co"})
            assert isinstance(customer, stripe.Customer) and customer.id.startswith("cus_")
            endpoint = http.get(f"{url[1]}/_emulator/webhook").json()["endpoint"]
            assert endpoint["url"] == "http://127.0.0.1:9/webhooks/stripe"
    finally:
        process.terminate()
        process.wait(10)


def test_emulate_stripe_keeps_no_state_file(tmp_path: Path) -> None:
    env = {**os.environ, "D365XERO_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [*D365XERO, "emulate", "stripe", "--state", str(tmp_path / "s.json")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--state is for the Xero and Dataverse emulators only" in done.stderr
