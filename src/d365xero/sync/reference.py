"""Reference data from Xero into Dynamics, in the seed's order: tax rates, then account codes
(which point at tax rates), then branding themes. Safe to run again: rows are upserted."""

from __future__ import annotations

from d365xero.sync.ports import DynamicsPort, ReferenceData, XeroPort


def sync_reference_data(
    xero: XeroPort, dynamics: DynamicsPort, tenant_id: str
) -> tuple[ReferenceData, dict[str, int]]:
    data = xero.reference_data()
    return data, dynamics.write_reference_data(tenant_id, data)
