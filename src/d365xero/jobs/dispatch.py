"""Asking for a pass soon: the one way webhooks, the scheduler's safety-net polling and commands
get a connection synced. `serve`'s embedded scheduler and the procrastinate queue of `worker`
each implement it; a caller never runs a pass inline (a webhook must answer within seconds)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class PassRequests(Protocol):
    def request_pass(
        self, connection_id: str, *, reason: str, record_ids: Sequence[str] = ()
    ) -> None:
        """Queue a pass of the connection (coalesced with any already queued). `reason` says
        why, for logs and metrics (e.g. "xero-webhook", "dataverse-webhook", "poll");
        `record_ids` names the records that changed, when the caller knows them."""
        ...
