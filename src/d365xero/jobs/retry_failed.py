"""`d365xero retry`: Failed invoices back to export status No (in $batch requests), with their
retry backoff forgotten, so the next pass sends them again."""

from __future__ import annotations

from dataclasses import dataclass

from d365xero.jobs.clients import ConnectionClients
from d365xero.jobs.retries import StoreRetries
from d365xero.sync.ports import FailedInvoice


@dataclass(frozen=True)
class RetryReset:
    reset: list[FailedInvoice]
    asked: str | None  # the invoice number asked for, if one was


def reset_failed(
    clients: ConnectionClients, retries: StoreRetries, number: str | None = None
) -> RetryReset:
    """Every Failed invoice of the connection, or the one numbered `number` (an unknown number
    is a ConfigurationError; a known one that is not Failed resets nothing)."""
    failed = clients.dynamics.failed_invoices(number)
    if failed:
        clients.dynamics.reset_export_status([f.detail_id for f in failed])
        retries.clear([f.invoice_id for f in failed])
    return RetryReset(failed, number)
