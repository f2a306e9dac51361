"""`d365xero serve`: the web app under uvicorn and the embedded scheduler, in one process.

Stopping (SIGINT or SIGTERM): uvicorn stops taking requests and finishes the ones in flight,
then the scheduler starts nothing new and waits for running passes to end at a batch boundary.
uvicorn re-raises the signal it caught once it has stopped; the handlers here turn that into a
normal return (exit 0), so the scheduler is stopped before the process ends."""

from __future__ import annotations

import signal
from collections.abc import Callable
from types import FrameType

from d365xero.config import Settings
from d365xero.errors import D365XeroError
from d365xero.exits import one_line
from d365xero.jobs.embedded import EmbeddedScheduler, SchedulerOptions
from d365xero.jobs.hooks import ensure_dataverse_webhook
from d365xero.jobs.metrics import Metrics
from d365xero.jobs.passes import PassResult
from d365xero.jobs.runtime import Runtime, open_runtime
from d365xero.logs import configure_logging
from d365xero.portal.app import create_app
from d365xero.store import connections
from d365xero.store.models import ConnectionStatus


def scheduler_options(settings: Settings) -> SchedulerOptions:
    return SchedulerOptions(
        pool_size=settings.pass_pool_size,
        window=settings.coalesce_seconds,
        max_window=max(settings.coalesce_seconds, settings.coalesce_max_seconds),
    )


def _check_webhooks(runtime: Runtime, echo: Callable[[str], object]) -> None:
    """Each active connection's Dynamics webhook, registered where this `serve` is reached."""
    if not runtime.settings.public_url:
        echo("D365XERO_PUBLIC_URL is not set: no webhooks, passes come from polling only")
        return
    with runtime.sessions() as session:
        active = [
            c.id
            for c in connections.list_connections(session)
            if c.status == ConnectionStatus.active.value
        ]
    for connection_id in active:
        try:
            echo(ensure_dataverse_webhook(runtime, connection_id))
        except D365XeroError as exc:  # polling still syncs it
            echo(f"warning: Dynamics webhook of {connection_id} not registered: {one_line(exc)}")


def run_serve(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    scheduler: bool = True,
    echo: Callable[[str], object] = print,
    runtime: Runtime | None = None,
    on_result: Callable[[PassResult, str], object] | None = None,
) -> None:
    import uvicorn

    from d365xero.emulators.core.server import listen

    configure_logging(settings.log_format)
    sock = listen(host, port)  # before saying where: clients may connect as soon as it is said
    port = sock.getsockname()[1]
    own_runtime = runtime is None
    runtime = runtime or open_runtime(settings)
    # Xero's and Dynamics' limits shared with every other process on the store (more `serve`
    # processes, workers): passes of several connections of one tenant run at once here too.
    runtime.shared_budgets = True
    metrics = Metrics()
    embedded = (
        EmbeddedScheduler(
            runtime, scheduler_options(settings), metrics=metrics, on_result=on_result
        )
        if scheduler
        else None
    )
    # Without a scheduler, webhooks queue their passes for `d365xero worker` (PostgreSQL only);
    # on SQLite there is no queue, and webhooks are answered 503 so their senders retry.
    queued = None
    if embedded is None and settings.database().startswith("postgresql"):
        from d365xero.jobs.queue import QueuedPassRequests

        queued = QueuedPassRequests(settings.database())
    passes = embedded or queued
    app = create_app(settings, runtime=runtime, passes=passes, metrics=metrics)
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False)
    )

    def on_term(_sig: int, _frame: FrameType | None) -> None:
        server.should_exit = True  # before uvicorn's own handler, and after it re-raises

    previous = {sig: signal.signal(sig, on_term) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        _check_webhooks(runtime, echo)
        if embedded:
            embedded.start()
        echo(
            f"d365xero serving on http://{host}:{port} "
            + (
                "with the scheduler"
                if embedded
                else "(web app only: --no-scheduler; webhooks queue passes for the workers)"
                if queued
                else "(web app only: --no-scheduler; no queue on SQLite, webhooks answer 503)"
            )
        )
        server.run(sockets=[sock])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if embedded:
            echo("stopping: waiting for running passes to finish their batch")
            embedded.stop()
        if queued:
            queued.close()
        if own_runtime:
            runtime.close()
        echo("stopped")
