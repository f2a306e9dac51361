"""docs/SOLUTION.md keeps up with the solution: every table, added column and view is explained."""

from __future__ import annotations

from pathlib import Path

from d365xero.solution import schema
from d365xero.solution.views import (
    FAILED_EXPORTS,
    SYNC_HISTORY_NEWEST_FIRST,
    XERO_DETAILS_BY_STATUS,
)

GUIDE = (Path(__file__).resolve().parents[2] / "docs" / "SOLUTION.md").read_text()


def test_guide_explains_every_table() -> None:
    for t in schema.TABLES:
        assert f"{t.display_name} (`{t.logical_name}`)" in GUIDE


def test_guide_names_every_column_added_to_dynamics_tables() -> None:
    for extension in schema.EXTENSIONS:
        for column in extension.columns:
            assert column.display_name.lower() in GUIDE.lower()


def test_guide_names_the_views_and_the_role() -> None:
    for view in (SYNC_HISTORY_NEWEST_FIRST, FAILED_EXPORTS, XERO_DETAILS_BY_STATUS):
        assert f"**{view.name}**" in GUIDE
    assert f"**{schema.INTEGRATION_ROLE_NAME}**" in GUIDE
