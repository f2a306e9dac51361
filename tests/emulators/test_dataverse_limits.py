"""Service protection limits (PAD:api-limits.md) and injected faults (/_emulator/faults)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from tests.support.dataverse_fixtures import DataverseHarness

from d365xero.emulators.core.server import ServerThread
from d365xero.emulators.dataverse.app import create_app

API = "/api/data/v9.2"


@pytest.fixture
def limited() -> Iterator[DataverseHarness]:
    harness = DataverseHarness(create_app(service_protection=True))
    yield harness
    harness.close()


def test_limits_are_off_by_default(dataverse_app: DataverseHarness) -> None:
    client, headers = dataverse_app.client(), dataverse_app.headers()
    dataverse_app.org.protection.limits.requests = 3
    for _ in range(10):
        response = client.get(f"{API}/WhoAmI", headers=headers)
        assert response.status_code == 200
        assert "x-ms-ratelimit-burst-remaining-xrm-requests" not in response.headers


def test_request_limit_answers_429_until_the_window_moves(limited: DataverseHarness) -> None:
    client, headers = limited.client(), limited.headers()
    assert client.post("/_emulator/service-protection", json={"requests": 3}).status_code == 200
    remaining = [
        client.get(f"{API}/WhoAmI", headers=headers).headers[
            "x-ms-ratelimit-burst-remaining-xrm-requests"
        ]
        for _ in range(3)
    ]
    assert remaining == ["2", "1", "0"]
    refused = client.get(f"{API}/WhoAmI", headers=headers)
    assert refused.status_code == 429
    assert refused.json()["error"] == {
        "code": "0x80072322",
        "message": "Number of requests exceeded the limit of 3 over time window of 300 seconds.",
    }
    assert 1 <= int(refused.headers["Retry-After"]) <= 300
    limited.org.clock.advance(301)
    headers = limited.headers()  # the old token has expired by now
    assert client.get(f"{API}/WhoAmI", headers=headers).status_code == 200


def test_limits_can_be_switched_on_at_run_time(dataverse_app: DataverseHarness) -> None:
    client, headers = dataverse_app.client(), dataverse_app.headers()
    client.post("/_emulator/service-protection", json={"enabled": True, "requests": 1})
    assert client.get(f"{API}/WhoAmI", headers=headers).status_code == 200
    assert client.get(f"{API}/WhoAmI", headers=headers).status_code == 429
    client.post("/_emulator/service-protection", json={"enabled": False})
    assert client.get(f"{API}/WhoAmI", headers=headers).status_code == 200
    assert client.post("/_emulator/service-protection", content=b"[1]").status_code == 400


def test_concurrent_request_limit() -> None:
    app = create_app(service_protection=True)
    org = app.state.emulator
    org.protection.limits.concurrent = 1
    org.faults.load(
        {"faults": [{"route": f"GET {API}/WhoAmI", "kind": "slow", "seconds": 1, "times": 1}]}
    )
    with ServerThread(app) as server, httpx.Client(base_url=server.url) as http:
        token = http.post(
            "/demo-tenant/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "d365xero-demo",
                "client_secret": "demo-secret",
                "scope": f"{server.url}/.default",
            },
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        slow: list[int] = []
        worker = threading.Thread(
            target=lambda: slow.append(
                httpx.get(f"{server.url}{API}/WhoAmI", headers=headers).status_code
            )
        )
        worker.start()
        deadline = time.monotonic() + 5
        while org.faults.describe()[0]["hits"] == 0 and time.monotonic() < deadline:
            time.sleep(0.01)  # until the slow request is in flight
        second = http.get(f"{API}/accounts", headers=headers)
        worker.join()
    assert slow == [200]
    assert second.status_code == 429
    assert second.json()["error"]["code"] == "0x80072326"


def test_injected_errors_have_dataverses_bodies(dataverse_app: DataverseHarness) -> None:
    client, headers = dataverse_app.client(), dataverse_app.headers()
    plan = {
        "faults": [
            {"route": f"GET {API}/accounts", "kind": "429", "times": 1, "retry_after": 7},
            {"route": f"POST {API}/accounts", "kind": "500", "times": 1},
        ]
    }
    assert client.post("/_emulator/faults", json=plan).status_code == 200
    throttled = client.get(f"{API}/accounts", headers=headers)
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "7"
    assert throttled.json()["error"]["code"] == "0x80072322"
    failed = client.post(f"{API}/accounts", json={"name": "x"}, headers=headers)
    assert failed.status_code == 500 and failed.json()["error"]["code"] == "0x80040216"
    assert client.get(f"{API}/accounts", headers=headers).status_code == 200  # times: 1
    hits = [f["hits"] for f in client.get("/_emulator/faults").json()["faults"]]
    assert hits == [1, 1]


def test_a_lost_response_still_applies_the_change() -> None:
    app = create_app()
    org = app.state.emulator
    org.faults.load({"faults": [{"route": f"POST {API}/accounts", "kind": "lost", "times": 1}]})
    with ServerThread(app) as server, httpx.Client(base_url=server.url) as http:
        token = http.post(
            "/demo-tenant/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "d365xero-demo",
                "client_secret": "demo-secret",
                "scope": f"{server.url}/.default",
            },
        ).json()["access_token"]
        with pytest.raises(httpx.RemoteProtocolError):
            http.post(
                f"{API}/accounts",
                json={"name": "Lost Ltd"},
                headers={"Authorization": f"Bearer {token}"},
            )
    assert [r["name"] for r in org.rows("account")] == ["Lost Ltd"]
