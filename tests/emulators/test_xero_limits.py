"""Xero's rate limits: remaining-count headers, 429 with X-Rate-Limit-Problem and Retry-After."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from tests.support.xero_fixtures import API, XeroHarness

from d365xero.emulators.core.clock import Clock
from d365xero.emulators.xero.errors import RateLimited
from d365xero.emulators.xero.ratelimit import RateLimiter


def test_headers_on_every_response(xero_app: XeroHarness) -> None:
    client, headers = xero_app.client(), xero_app.headers()
    first = client.get(f"{API}/Organisation", headers=headers)
    second = client.get(f"{API}/Organisation", headers=headers)
    assert first.headers["X-MinLimit-Remaining"] == "59"
    assert second.headers["X-MinLimit-Remaining"] == "58"
    assert second.headers["X-DayLimit-Remaining"] == "4998"
    assert second.headers["X-AppMinLimit-Remaining"] == "9998"
    connections = client.get("/Connections", headers={"Authorization": headers["Authorization"]})
    assert "X-AppMinLimit-Remaining" in connections.headers
    assert "X-MinLimit-Remaining" not in connections.headers


def test_minute_limit_429_then_window_moves(xero_app: XeroHarness) -> None:
    client, headers = xero_app.client(), xero_app.headers()
    switched = client.post("/_emulator/rate-limits", json={"enabled": True}).json()
    assert switched == {"enabled": True, "refused": {}}
    for _ in range(60):
        assert client.get(f"{API}/Currencies", headers=headers).status_code == 200
    refused = client.get(f"{API}/Currencies", headers=headers)
    assert refused.status_code == 429
    assert refused.headers["X-Rate-Limit-Problem"] == "minute"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["X-MinLimit-Remaining"] == "0"
    assert client.get("/_emulator/rate-limits").json()["refused"] == {"minute": 1}
    client.post("/_emulator/clock", json={"advance_seconds": 61})
    assert client.get(f"{API}/Currencies", headers=headers).status_code == 200


def test_limits_are_off_by_default(xero_app: XeroHarness) -> None:
    client, headers = xero_app.client(), xero_app.headers()
    for _ in range(61):
        response = client.get(f"{API}/Currencies", headers=headers)
    assert response.status_code == 200
    assert response.headers["X-MinLimit-Remaining"] == "0"


def test_day_and_concurrent_limits() -> None:
    clock = Clock()
    limiter = RateLimiter(clock, enforce=True)
    for _ in range(5):
        limiter.acquire("t")
    with pytest.raises(RateLimited) as concurrent:
        limiter.acquire("t")
    assert (concurrent.value.problem, concurrent.value.retry_after) == ("concurrent", 0)
    for _ in range(5):
        limiter.release("t")
    for n in range(4995):
        if n % 59 == 0:
            clock.advance(61)
        limiter.acquire("t")
        limiter.release("t")
    with pytest.raises(RateLimited) as day:
        clock.advance(61)
        limiter.acquire("t")
    assert day.value.problem == "day"
    assert day.value.retry_after > 3600
    clock.advance(day.value.retry_after)
    assert limiter.acquire("t")["X-DayLimit-Remaining"] == "4999"


def test_slow_calls_in_progress_count_towards_the_concurrent_limit(
    xero_server: XeroHarness,
) -> None:
    """Six calls at once, each slow at Xero: five are in progress, the sixth is refused with
    X-Rate-Limit-Problem: concurrent and no Retry-After (reference/xero.md §2)."""
    headers = xero_server.headers()
    with httpx.Client(base_url=xero_server.url) as client:
        client.post("/_emulator/rate-limits", json={"enabled": True})
        client.post(
            "/_emulator/faults",
            json={"faults": [{"route": f"GET {API}/Organisation", "kind": "slow", "seconds": 1}]},
        )
        with ThreadPoolExecutor(6) as pool:
            answers = list(
                pool.map(lambda _: client.get(f"{API}/Organisation", headers=headers), range(6))
            )
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [200] * 5 + [429]
        refused = next(answer for answer in answers if answer.status_code == 429)
        assert refused.headers["X-Rate-Limit-Problem"] == "concurrent"
        assert "Retry-After" not in refused.headers
        assert client.get("/_emulator/rate-limits").json()["refused"] == {"concurrent": 1}
        assert client.get(f"{API}/Organisation", headers=headers).status_code == 200
