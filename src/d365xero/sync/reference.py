"""Reference data from Xero into Dynamics, in the seed's order: tax rates, then account codes
(which point at tax rates), then branding themes. Safe to run again: rows are upserted."""

from __future__ import annotations

from d365xero.sync.ports import DynamicsPort, XeroPort


def sync_reference_data(xero: XeroPort, dynamics: DynamicsPort, tenant_id: str) -> dict[str, int]:
    return dynamics.write_reference_data(tenant_id, xero.reference_data())
