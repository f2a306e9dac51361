"""`d365xero backfill`: link the invoices that already exist in both systems (domain.backfill),
giving each its Xero details (export status Yes, Xero id, number, status, link) and a Sync
History row, then bring their status and payments back as the back-sync does.

Resumable: Dynamics is written a chunk at a time, and before each chunk the Xero ids it links
are kept in the connection's marks (PENDING) until their status and payments are in Dynamics
too; a run cut short finishes those first. Invoices already linked leave the set the next run
reads, so nothing is linked twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from d365xero.domain.backfill import Ambiguous, Link, match
from d365xero.domain.history import (
    HistoryEntry,
    SyncAction,
    SyncStatus,
    WriteBack,
    XeroDetailChange,
    invoice_url,
)
from d365xero.domain.records import ExportStatus
from d365xero.errors import RemoteRejected
from d365xero.jobs.clients import ConnectionClients
from d365xero.jobs.reconcile import PAGE_SIZE, every_invoice
from d365xero.sync.ports import Marks

PENDING = "backfill-pending"  # token: Xero ids linked whose status and payments are not in yet
CHUNK = 200  # links written in one $batch, and kept pending at once

# Brings status and payments of these linked Xero invoices (ids, lower case) back to Dynamics.
Settle = Callable[[Sequence[str]], object]


@dataclass
class BackfillResult:
    links: list[Link] = field(default_factory=list)
    ambiguous: list[Ambiguous] = field(default_factory=list)
    unmatched: int = 0
    resumed: int = 0  # links of an earlier, interrupted run whose status and payments came now
    refused: list[str] = field(default_factory=list)  # Dynamics' reasons for writes it refused


def plan(clients: ConnectionClients, since: date) -> BackfillResult:
    """What a backfill would link (and what it would not, and why): reads only."""
    dynamics = clients.dynamics
    unlinked = [i for page in dynamics.unlinked_invoice_pages(since, PAGE_SIZE) for i in page]
    taken = frozenset(i.xero_id for page in dynamics.linked_invoice_pages(PAGE_SIZE) for i in page)
    found = match(unlinked, every_invoice(clients.xero, since), taken)
    return BackfillResult(found.links, found.ambiguous, found.unmatched)


def backfill(
    clients: ConnectionClients,
    marks: Marks,
    since: date,
    settle: Settle,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> BackfillResult:
    pending = json.loads(marks.token(PENDING) or "[]")
    if pending:
        settle(pending)  # an interrupted run linked these and did not finish them
        marks.clear(PENDING)
    result = plan(clients, since)
    result.resumed = len(pending)
    short_code = clients.xero.organisation().short_code
    total = len(result.links)
    for start in range(0, total, CHUNK):
        chunk = result.links[start : start + CHUNK]
        ids = [link.xero.xero_id for link in chunk]
        marks.set_token(PENDING, json.dumps(ids))  # durable before Dynamics is written
        refused = clients.dynamics.write_back(_changes(chunk, short_code))
        if refused:
            result.refused += refused
            raise RemoteRejected(
                f"Dynamics refused {len(refused)} backfill write(s): {refused[0]}",
                service="dataverse",
            )
        settle(ids)
        marks.clear(PENDING)
        progress(start + len(chunk), total)
    return result


def _changes(links: Sequence[Link], short_code: str | None) -> list[WriteBack]:
    now = datetime.now(UTC)
    changes: list[WriteBack] = []
    for link in links:
        xero = link.xero
        changes.append(
            XeroDetailChange(
                invoice_id=link.invoice.invoice_id,
                invoice_name=link.invoice.name,
                detail_id=None,
                export_status=ExportStatus.YES,
                export_date=now,
                xero_invoice_id=xero.xero_id,
                xero_invoice_number=xero.number,
                xero_status=xero.status.title(),  # as the push and back-sync write it
                xero_url=invoice_url(short_code, xero.xero_id, xero.type),
            )
        )
        changes.append(
            HistoryEntry(
                link.invoice.invoice_id,
                now,
                SyncAction.UPDATE,
                SyncStatus.SUCCESSFUL,
                f"Linked by backfill to Xero invoice {xero.number or xero.xero_id} "
                f"(same {link.by}).",
            )
        )
    return changes
