"""Real time through webhooks, every part in its own process: both emulators (`d365xero emulate`),
`d365xero serve` with D365XERO_PUBLIC_URL (so it registers its Dynamics webhook when it starts),
and this script as the Dynamics user.

- latency: invoices created one at a time in the Dataverse emulator (each ready: delivered
  yesterday, priced, its customer linked); for each, the time from just before its create
  request to the moment the Xero emulator lists it (polled every 20 ms). Webhook delivery,
  the coalescing window, the pass and the write-back are all inside that time.
- coalescing: a burst of invoices created as fast as one client creates them (within 10 s);
  the Xero invoice requests (PUT/POST .../Invoices) counted by the emulator until all are in.

    .venv/bin/python -m bench.realtime --latency 200 --burst 500
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.backlog import Shape, XeroSetup, _invoice, dataverse_client, prepare
from bench.stack import D365XERO, Stack, start_stack
from d365xero.emulators.core.server import free_port
from d365xero.trust import ssl_context

POLL = 0.02


def _serve(stack: Stack, workdir: Path, window: float | None) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = stack.connector_env | {"D365XERO_PUBLIC_URL": url}
    if window is not None:
        env["D365XERO_COALESCE_SECONDS"] = str(window)
    log = (workdir / "serve.log").open("w")
    process = subprocess.Popen(
        [*D365XERO, "serve", "--port", str(port)], env=env, stdout=log, stderr=log, text=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"serve did not start: {(workdir / 'serve.log').read_text()}")


def _xero_invoices(xero: XeroSetup) -> set[str]:
    response = xero.http.get(
        f"{xero.url}/api.xro/2.0/Invoices",
        headers=xero.headers,
        params={"page": "1", "pageSize": "1000"},
    )
    response.raise_for_status()
    return {i.get("Reference") or "" for i in response.json()["Invoices"]}


def _in_xero(xero: XeroSetup, reference: str) -> bool:
    """One invoice, asked for by its reference (a `where` filter, as a Xero client would)."""
    response = xero.http.get(
        f"{xero.url}/api.xro/2.0/Invoices",
        headers=xero.headers,
        params={"where": f'Reference=="{reference}"'},
    )
    response.raise_for_status()
    return bool(response.json()["Invoices"])


def _invoice_requests(stack: Stack) -> int:
    calls: dict[str, int] = stack.xero.calls()
    return sum(
        n
        for key, n in calls.items()
        if key.split(" ", 1)[0] in ("PUT", "POST") and key.endswith("/api.xro/2.0/Invoices")
    )


def latency(stack: Stack, refs: dict[str, str], shape: Shape, count: int) -> list[float]:
    seconds = []
    with httpx.Client(verify=ssl_context(stack.ca), timeout=60) as http:
        dv, xero = dataverse_client(stack, http), XeroSetup(stack, http)
        for n in range(count):
            op = _invoice(n, shape, refs)
            started = time.monotonic()
            dv.create("invoices", op.body)
            while not _in_xero(xero, f"Bench {n}"):
                if time.monotonic() - started > 30:
                    raise RuntimeError(f"invoice {n} did not reach Xero within 30 s")
                time.sleep(POLL)
            seconds.append(time.monotonic() - started)
    return seconds


def burst(
    stack: Stack, refs: dict[str, str], shape: Shape, first: int, count: int
) -> dict[str, Any]:
    before = _invoice_requests(stack)
    with httpx.Client(verify=ssl_context(stack.ca), timeout=60) as http:
        dv, xero = dataverse_client(stack, http), XeroSetup(stack, http)
        started = time.monotonic()
        for n in range(first, first + count):
            dv.create("invoices", _invoice(n, shape, refs).body)
        created_s = time.monotonic() - started
        wanted = {f"Bench {n}" for n in range(first, first + count)}
        while not wanted <= _xero_invoices(xero):
            if time.monotonic() - started > 300:
                raise RuntimeError("the burst did not reach Xero within 300 s")
            time.sleep(0.1)
        all_in_s = time.monotonic() - started
    return {
        "invoices": count,
        "created_within_s": round(created_s, 2),
        "all_in_xero_after_s": round(all_in_s, 2),
        "xero_invoice_requests": _invoice_requests(stack) - before,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=int, default=200, help="invoices, one at a time")
    parser.add_argument("--burst", type=int, default=500, help="invoices created together")
    parser.add_argument("--window", type=float, help="D365XERO_COALESCE_SECONDS for serve")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (logs)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.keep or Path(tmp)
        with start_stack(workdir) as stack:
            shape = Shape(invoices=args.latency + args.burst)
            refs = prepare(stack, shape)
            process, url = _serve(stack, workdir, args.window)
            try:
                time.sleep(1.0)  # serve's first poll pass (nothing ready yet) is over
                if args.latency:
                    seconds = sorted(latency(stack, refs, shape, args.latency))
                    p95 = seconds[max(0, round(0.95 * len(seconds)) - 1)]
                    print(
                        f"latency over {len(seconds)} invoices: median "
                        f"{statistics.median(seconds):.3f} s, p95 {p95:.3f} s, "
                        f"max {seconds[-1]:.3f} s"
                    )
                if args.burst:
                    print(f"burst: {burst(stack, refs, shape, args.latency, args.burst)}")
                print(httpx.get(f"{url}/metrics").text.count("\n"), "metric lines served")
            finally:
                process.terminate()
                process.wait(60)


if __name__ == "__main__":
    main()
