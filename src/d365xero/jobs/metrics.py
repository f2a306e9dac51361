"""Prometheus metrics of `serve`: one registry per app (never the global one, so two apps in a
process do not collide), filled by the scheduler after each pass and by the webhook routes."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from d365xero.jobs.passes import PassResult
from d365xero.jobs.runtime import Runtime

# Invoice outcomes a pass reports, by the name the metric gives them.
_INVOICE_OUTCOMES = {"created": "synced", "updated": "synced", "failed": "failed"}


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.passes = Counter(
            "d365xero_pass_steps",
            "Steps of sync passes by outcome",
            ["step", "outcome"],
            registry=r,
        )
        self.runs = Counter("d365xero_passes", "Sync passes by outcome", ["outcome"], registry=r)
        self.invoices = Counter(
            "d365xero_invoices", "Invoices synced or failed", ["outcome"], registry=r
        )
        self.api_calls = Counter(
            "d365xero_api_calls", "Calls to Xero and Dataverse", ["service", "tenant"], registry=r
        )
        self.throttled = Counter(
            "d365xero_api_429",
            "Answers of 429 Too Many Requests",
            ["service", "tenant"],
            registry=r,
        )
        self.duration = Histogram(
            "d365xero_pass_duration_seconds",
            "How long sync passes take",
            buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
            registry=r,
        )
        self.webhooks = Counter(
            "d365xero_webhook_deliveries",
            "Webhook deliveries by outcome",
            ["source", "outcome"],
            registry=r,
        )
        self.queue_depth = Gauge("d365xero_queue_depth", "Passes waiting to start", registry=r)
        self.job_age = Gauge(
            "d365xero_queue_oldest_seconds", "Age of the oldest pass request waiting", registry=r
        )
        self._seen: dict[str, tuple[int, int, int, int]] = {}  # client counters already counted

    def watch_queue(self, depth: Callable[[], float], age: Callable[[], float]) -> None:
        self.queue_depth.set_function(depth)
        self.job_age.set_function(age)

    def record_pass(
        self, runtime: Runtime, connection_id: str, result: PassResult, seconds: float
    ) -> None:
        self.runs.labels(result.status.value).inc()
        self.duration.observe(seconds)
        for step in result.steps:
            self.passes.labels(step.name, step.status.value).inc()
        for result_name, outcome in _INVOICE_OUTCOMES.items():
            if count := result.report.count(result_name):
                self.invoices.labels(outcome).inc(count)
        clients = runtime.cached_clients(connection_id)
        if clients is None:
            return
        now = (
            clients.xero.calls,
            clients.xero.throttled,
            clients.dataverse.calls,
            clients.dataverse.throttled,
        )
        before = self._seen.get(connection_id, (0, 0, 0, 0))
        if any(n < b for n, b in zip(now, before, strict=True)):
            before = (0, 0, 0, 0)  # the clients were rebuilt: their counters started again
        self._seen[connection_id] = now
        tenant = clients.xero.tenant_id or ""
        org = clients.dataverse.org_url
        self.api_calls.labels("xero", tenant).inc(now[0] - before[0])
        self.throttled.labels("xero", tenant).inc(now[1] - before[1])
        self.api_calls.labels("dataverse", org).inc(now[2] - before[2])
        self.throttled.labels("dataverse", org).inc(now[3] - before[3])

    def text(self) -> bytes:
        return generate_latest(self.registry)
