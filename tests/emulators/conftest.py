"""Fixtures of the emulator tests.

# --- Xero -------------------------------------------------------------------------------------
# `xero_app` and `xero_server` come from tests/support/xero_fixtures.py (registered for every tier
# in tests/conftest.py). Below: shortcuts the Xero emulator tests share.
"""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from tests.support.xero_fixtures import XeroHarness

# --- Xero (owner: Xero emulator) ---------------------------------------------------------------


@pytest.fixture
def xero(xero_app: XeroHarness) -> tuple[TestClient, dict[str, str]]:
    """A validated client of a fresh Xero emulator and the headers of a client-credentials token."""
    return xero_app.client(), xero_app.headers()


# --- end Xero ---------------------------------------------------------------------------------
