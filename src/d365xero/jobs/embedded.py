"""`serve`'s scheduler: PassRequests in one process, passes run by a bounded pool of threads.

- Every active connection gets a pass when `serve` starts, then every `poll_seconds` (its own
  column, 5 minutes by default), or every `healthy_poll` (30 minutes) while both of its webhooks
  have delivered within that time: polling is the safety net, webhooks the fast path.
- A request (webhook, poll, command) marks the connection due after a short `window`; requests
  that arrive within it restart it (up to `max_window` after the first), and requests that
  arrive while its pass runs wait for it: they coalesce into one pass after the running one, so
  a burst of 500 created invoices is a few passes that send them 50 to a Xero request.
- Never two passes of one connection at once: in this process a connection is either due or
  running, never handed to two threads; across processes the store's pass lock refuses the
  second (run_pass answers skipped).
- `stop()`: nothing new starts; a running pass ends at its next batch boundary (run_pass's
  `stopping`), so nothing is left half-written, and `stop()` returns when it has.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog

from d365xero.jobs.metrics import Metrics
from d365xero.jobs.passes import PassResult, run_pass
from d365xero.jobs.runtime import Runtime
from d365xero.store import connections
from d365xero.store.models import Connection, ConnectionStatus

log = structlog.get_logger(__name__)

PassRunner = Callable[[Runtime, str, Callable[[], bool]], PassResult]


def _run(runtime: Runtime, connection_id: str, stopping: Callable[[], bool]) -> PassResult:
    return run_pass(runtime, connection_id, stopping=stopping)


@dataclass(frozen=True)
class SchedulerOptions:
    pool_size: int = 4
    # A request waits `window` seconds for others to join it; each arrival within that time
    # restarts the wait, up to `max_window` after the first: one invoice goes at once, a burst
    # goes in few passes of many (50 to a Xero request).
    window: float = 0.05
    max_window: float = 5.0
    healthy_poll: float = 1800.0  # poll interval while webhooks are known to work
    refresh: float = 5.0  # how often the connections are re-read from the store


def webhooks_healthy(connection: Connection, within: float, now: datetime) -> bool:
    """Both sides have delivered a webhook within `within` seconds."""
    since = now - timedelta(seconds=within)
    seen = (connection.xero_webhook_at, connection.dataverse_webhook_at)
    return all(at is not None and at >= since for at in seen)


class EmbeddedScheduler:
    """PassRequests for `serve`; start() it, then stop() it (or use it as a context manager)."""

    def __init__(
        self,
        runtime: Runtime,
        options: SchedulerOptions = SchedulerOptions(),
        *,
        runner: PassRunner = _run,
        on_result: Callable[[PassResult, str], object] | None = None,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.runtime, self.options, self.runner = runtime, options, runner
        self.on_result, self.metrics, self.clock = on_result, metrics, clock
        if metrics:
            metrics.watch_queue(self.queue_depth, self.oldest_request_age)
        self._cond = threading.Condition()
        self._due: dict[str, tuple[float, str, float]] = {}  # id -> (due, reason, asked at)
        self._running: set[str] = set()
        self._next_poll: dict[str, float] = {}
        self._stopping = False
        self._pool = ThreadPoolExecutor(options.pool_size, thread_name_prefix="pass")
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._refreshed = -1e18
        self._intervals: dict[str, float] = {}  # active connection -> poll interval (s)

    # --- PassRequests ---------------------------------------------------------------------

    def request_pass(
        self, connection_id: str, *, reason: str, record_ids: Sequence[str] = ()
    ) -> None:
        with self._cond:
            if self._stopping:
                return
            now = self.clock()
            due = now + self.options.window
            if connection_id in self._due:  # coalesced with the one already waiting
                waiting, first_reason, asked = self._due[connection_id]
                due = min(max(waiting, due), asked + self.options.max_window)
                self._due[connection_id] = (due, first_reason, asked)
            else:
                self._due[connection_id] = (due, reason, now)
            self._cond.notify_all()
        log.info(
            "pass requested", connection_id=connection_id, reason=reason, records=len(record_ids)
        )

    # --- state, for metrics and tests -----------------------------------------------------

    def queue_depth(self) -> int:
        with self._cond:
            return len(self._due)

    def oldest_request_age(self) -> float:
        with self._cond:
            now = self.clock()
            return max((now - asked for _, _, asked in self._due.values()), default=0.0)

    def running(self) -> set[str]:
        with self._cond:
            return set(self._running)

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> EmbeddedScheduler:
        self._thread.start()
        return self

    def stop(self) -> None:
        """No new passes; waits for the running ones to reach a batch boundary and end."""
        with self._cond:
            self._stopping = True
            self._due.clear()
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join()
        self._pool.shutdown(wait=True)

    def stopping(self) -> bool:
        return self._stopping

    def __enter__(self) -> EmbeddedScheduler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the loop -------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            self._poll_due()
            with self._cond:
                if self._stopping:
                    return
                now = self.clock()
                free = self.options.pool_size - len(self._running)
                ready = sorted(
                    (due, cid)
                    for cid, (due, _, _) in self._due.items()
                    if due <= now and cid not in self._running
                )
                for _, cid in ready[: max(free, 0)]:
                    _, reason, _ = self._due.pop(cid)
                    self._running.add(cid)
                    self._pool.submit(self._pass, cid, reason)
                waits = [due - now for due, _, _ in self._due.values() if due > now]
                self._cond.wait(timeout=min([self.options.refresh, *waits]))

    def _pass(self, connection_id: str, reason: str) -> None:
        started = self.clock()
        try:
            result = self.runner(self.runtime, connection_id, self.stopping)
            seconds = self.clock() - started
            log.info(
                "pass finished",
                connection_id=connection_id,
                connection=result.connection_name,
                reason=reason,
                status=result.status.value,
                seconds=round(seconds, 3),
            )
            if self.metrics:
                self.metrics.record_pass(self.runtime, connection_id, result, seconds)
            for step in result.steps:
                for o in step.report.outcomes:
                    if o.result != "waiting" and o.invoice_id:  # a line per invoice touched
                        log.info(
                            "invoice",
                            connection_id=connection_id,
                            run_id=result.run_id,
                            step=step.name,
                            invoice_id=o.invoice_id,
                            result=o.result,
                            xero_number=o.xero_number,
                            reason=o.message or None,
                        )
            if self.on_result:
                self.on_result(result, reason)
        except Exception:  # one connection's failure never stops the scheduler
            log.exception("pass failed unexpectedly", connection_id=connection_id)
        finally:
            with self._cond:
                self._running.discard(connection_id)
                self._next_poll[connection_id] = started + self._interval(connection_id)
                self._cond.notify_all()

    def _interval(self, connection_id: str) -> float:
        return self._intervals.get(connection_id, 300.0)

    def _poll_due(self) -> None:
        """Every so often, reads the active connections and asks a pass of each whose poll
        interval has passed (at once for one not polled yet)."""
        now = self.clock()
        if now - self._refreshed < self.options.refresh:
            return
        self._refreshed = now
        try:
            with self.runtime.sessions() as session:
                found = connections.list_connections(session)
                wall = datetime.now(UTC)
                active = {
                    c.id: (
                        self.options.healthy_poll
                        if webhooks_healthy(c, self.options.healthy_poll, wall)
                        else float(c.poll_seconds)
                    )
                    for c in found
                    if c.status == ConnectionStatus.active.value
                }
        except Exception:  # the store is down: try again at the next refresh
            log.exception("could not read the connections")
            return
        self._intervals = active
        for cid in active:
            with self._cond:
                due = self._next_poll.get(cid, now) <= now
                idle = cid not in self._due and cid not in self._running
            if due and idle:
                self.request_pass(cid, reason="poll")
                with self._cond:
                    self._next_poll[cid] = now + active[cid]
