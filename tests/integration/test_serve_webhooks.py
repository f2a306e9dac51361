"""`serve`'s app on a real port with its scheduler, fed by the emulators' own webhook senders:
Dynamics' service endpoint (registered by d365xero) and Xero's signed event batches (Intent to
Receive included). Good deliveries queue passes, bad ones get 401, replays are acknowledged
without another pass, out-of-order events are all honoured."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from d365xero.emulators.core.server import ServerThread
from d365xero.jobs.embedded import EmbeddedScheduler, SchedulerOptions
from d365xero.jobs.hooks import ensure_dataverse_webhook, remove_dataverse_webhook
from d365xero.jobs.metrics import Metrics
from d365xero.portal.app import create_app
from d365xero.store import connections
from d365xero.store.models import Connection
from tests.integration.conftest import Stack, ready_backlog
from tests.support.xero_deliveries import invoice_event, signed_delivery

KEY = "xero-webhook-signing-key-for-tests"


@dataclass
class Served:
    stack: Stack
    url: str
    scheduler: EmbeddedScheduler
    metrics: Metrics
    reasons: list[str] = field(default_factory=list)

    def wait_for(self, what: str, done: Callable[[], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.05)

    def idle(self) -> bool:
        return not self.scheduler.running() and not self.scheduler.queue_depth()

    def metric(self, name: str, **labels: str) -> float:
        text = httpx.get(f"{self.url}/metrics").text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and all(
                    sample.labels.get(k) == v for k, v in labels.items()
                ):
                    return float(sample.value)
        return 0.0


@pytest.fixture
def served(stack: Stack) -> Iterator[Served]:
    runtime = stack.runtime
    metrics = Metrics()
    reasons: list[str] = []
    # Polling once an hour: every pass here after the first comes from a webhook.
    options = SchedulerOptions(pool_size=2, window=0.3, refresh=3600)
    scheduler = EmbeddedScheduler(
        runtime, options, metrics=metrics, on_result=lambda r, why: reasons.append(why)
    )
    settings = runtime.settings.model_copy(update={"xero_webhook_key": SecretStr(KEY)})
    app = create_app(settings, runtime=runtime, passes=scheduler, metrics=metrics)
    with ServerThread(app) as server:
        runtime.settings = settings.model_copy(update={"public_url": server.url})
        served = Served(stack, server.url, scheduler, metrics, reasons)
        with scheduler:
            served.wait_for("the first poll", lambda: bool(reasons) and served.idle())
            yield served


def _subscribe(stack: Stack, url: str) -> dict[str, object]:
    answer = stack.xero.client().post(
        "/_emulator/webhooks", json={"url": f"{url}/webhooks/xero", "key": KEY, "seed": 7}
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["subscription"])


def _in_xero(stack: Stack) -> int:
    found = stack.xero_get("Invoices", page=1, pageSize=1000)["Invoices"]
    return sum(1 for i in found if i["Status"] != "DELETED")


def test_a_dynamics_change_reaches_xero_through_the_registered_webhook(served: Served) -> None:
    stack = served.stack
    line = ensure_dataverse_webhook(stack.runtime, stack.connection.id)
    assert "Dynamics webhook registered" in line and "/webhooks/dataverse/" in line
    again = ensure_dataverse_webhook(stack.runtime, stack.connection.id)  # serve's start check
    endpoints = stack.rows("serviceendpoints", "contract eq 8", "serviceendpointid,url")
    assert len(endpoints) == 1 and endpoints[0]["url"].startswith(served.url), again
    before = _in_xero(stack)
    ready_backlog(stack, 3)
    served.wait_for(
        "the webhooks' passes",
        lambda: "dataverse-webhook" in served.reasons and _in_xero(stack) == before + 3,
    )
    assert served.metric("d365xero_webhook_deliveries_total", source="dataverse", outcome="queued")
    with stack.runtime.sessions() as session:
        found = connections.get_connection(session, stack.connection.id)
        assert found is not None and found.dataverse_webhook_at is not None
        assert remove_dataverse_webhook(stack.runtime, found)
    assert stack.rows("serviceendpoints", "contract eq 8", "serviceendpointid") == []


def test_a_wrong_dataverse_key_is_refused(served: Served) -> None:
    cid = served.stack.connection.id
    ensure_dataverse_webhook(served.stack.runtime, cid)
    for query in ("?code=wrong", ""):
        answer = httpx.post(f"{served.url}/webhooks/dataverse/{cid}{query}", json={})
        assert answer.status_code == 401
    answer = httpx.post(f"{served.url}/webhooks/dataverse/no-such-connection?code=x", json={})
    assert answer.status_code == 401
    assert (
        served.metric("d365xero_webhook_deliveries_total", source="dataverse", outcome="bad-key")
        == 3
    )


def test_xero_intent_to_receive_and_events_queue_passes(served: Served) -> None:
    stack = served.stack
    subscription = _subscribe(stack, served.url)
    assert subscription["status"] == "OK", subscription["intent_to_receive"]
    ready_backlog(stack, 2)
    served.scheduler.request_pass(stack.connection.id, reason="test")
    # Our pass creates the invoices in Xero; Xero tells us so: a pass for that connection.
    served.wait_for("Xero's webhook", lambda: "xero-webhook" in served.reasons)
    assert served.metric("d365xero_webhook_deliveries_total", source="xero", outcome="queued") >= 1


def _post_xero(url: str, events: list[dict[str, object]], key: str = KEY) -> int:
    body, headers = signed_delivery(events, key)
    return httpx.post(f"{url}/webhooks/xero", content=body, headers=headers).status_code


def test_bad_replayed_and_out_of_order_xero_deliveries(served: Served) -> None:
    tenant = served.stack.connection.xero_tenant_id or ""
    later = invoice_event(tenant, "b" * 8, "2026-12-01T10:00:02.000")
    earlier = invoice_event(tenant, "a" * 8, "2026-12-01T10:00:01.000")
    assert _post_xero(served.url, [later], key="not-the-key") == 401
    assert served.metric(
        "d365xero_webhook_deliveries_total", source="xero", outcome="bad-signature"
    )
    count = len(served.reasons)
    assert _post_xero(served.url, [later]) == 200
    assert _post_xero(served.url, [earlier]) == 200  # older, and after: still honoured
    served.wait_for("the webhook's pass", lambda: len(served.reasons) > count and served.idle())
    assert served.reasons[count:] == ["xero-webhook"]  # both events, one pass (coalesced)
    assert _post_xero(served.url, [later, earlier]) == 200  # Xero retrying a delivery
    time.sleep(0.6)  # longer than the window: a queued pass would have started
    assert served.idle() and served.reasons[count:] == ["xero-webhook"]
    assert (
        served.metric("d365xero_webhook_deliveries_total", source="xero", outcome="replayed") == 2
    )
    unknown = invoice_event(
        "00000000-0000-0000-0000-000000000000", "c" * 8, "2026-12-01T10:00:03.000"
    )
    assert _post_xero(served.url, [unknown]) == 200  # acknowledged: it is no one's here


def test_connection_list_shows_webhook_liveness(served: Served) -> None:
    from d365xero.jobs.hooks import liveness

    stack = served.stack
    with stack.runtime.sessions() as session:
        found = session.get(Connection, stack.connection.id)
        assert found is not None
        assert liveness(found) == "xero quiet, dynamics not registered"
    ensure_dataverse_webhook(stack.runtime, stack.connection.id)
    tenant = stack.connection.xero_tenant_id or ""
    assert (
        _post_xero(served.url, [invoice_event(tenant, "d" * 8, "2026-12-01T10:00:04.000")]) == 200
    )
    served.wait_for("the pass", served.idle)
    with stack.runtime.sessions() as session:
        found = session.get(Connection, stack.connection.id)
        assert found is not None
        assert liveness(found) == "xero live, dynamics quiet"


def test_results_are_counted(served: Served) -> None:
    ready_backlog(served.stack, 2)
    served.scheduler.request_pass(served.stack.connection.id, reason="test")
    served.wait_for("the pass", lambda: len(served.reasons) == 2 and served.idle())
    assert served.metric("d365xero_invoices_total", outcome="synced") == 2
    assert served.metric("d365xero_passes_total", outcome="succeeded") >= 1
    assert served.metric("d365xero_pass_duration_seconds_count") >= 1
    assert served.metric("d365xero_api_calls_total", service="xero") > 0
    assert served.metric("d365xero_queue_depth") == 0
