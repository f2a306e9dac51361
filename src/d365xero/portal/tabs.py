"""The tabs of a connection's pages, in one place so every page shows the same ones. Each is
(label, path under /connections/{id}); the page of a tab passes its label as `tab`."""

from __future__ import annotations

CONNECTION_TABS: tuple[tuple[str, str], ...] = (
    ("Dashboard", ""),
    ("Synchronisation Center", "/sync-center"),
    ("Connector Settings", "/settings"),
    ("Field mapping", "/mapping"),
    ("Billing", "/billing"),
    ("Connect", "/connect"),
)


def connection_tabs(connection_id: str) -> list[tuple[str, str]]:
    return [(label, f"/connections/{connection_id}{path}") for label, path in CONNECTION_TABS]
