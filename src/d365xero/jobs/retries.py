"""StoreRetries: the engine's RetryBook over the store's invoice_retries table, each change
committed at once."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from d365xero.domain.retry import RetryPolicy, RetryState, after_failure
from d365xero.store import retries
from d365xero.store.models import InvoiceRetry


def _state(row: InvoiceRetry) -> RetryState:
    return RetryState(row.attempts, row.first_failed_at, row.next_attempt_at, row.last_reason)


class StoreRetries:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        connection_id: str,
        policy: RetryPolicy,
        jitter: random.Random | None = None,
    ) -> None:
        self._sessions = sessions
        self._connection_id = connection_id
        self.policy = policy
        self._random = jitter or random.Random()

    def states(self, invoice_ids: Sequence[str]) -> dict[str, RetryState]:
        with self._sessions() as session:
            found = retries.retries_for(session, self._connection_id, list(invoice_ids))
            return {i: _state(row) for i, row in found.items()}

    def failed(
        self, invoice_ids: Sequence[str], reason: str, now: datetime
    ) -> dict[str, RetryState]:
        with self._sessions.begin() as session:
            found = retries.retries_for(session, self._connection_id, list(invoice_ids))
            result = {}
            for invoice_id in invoice_ids:
                row = found.get(invoice_id)
                state = after_failure(
                    _state(row) if row else None, reason, now, self._random.random()
                )
                if row is None:
                    row = InvoiceRetry(connection_id=self._connection_id, invoice_id=invoice_id)
                    session.add(row)
                row.attempts, row.first_failed_at = state.attempts, state.first_failed
                row.next_attempt_at, row.last_reason = state.next_attempt, state.last_reason[:4000]
                result[invoice_id] = state
            return result

    def clear(self, invoice_ids: Sequence[str]) -> None:
        if invoice_ids:
            with self._sessions.begin() as session:
                retries.clear_retries(session, self._connection_id, list(invoice_ids))
