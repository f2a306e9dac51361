"""Migration `dashboard` fills sync_days from the runs recorded before it, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa

from d365xero.store.db import create_engine
from d365xero.store.migrate import upgrade


def test_the_days_are_filled_from_the_runs_so_far(database_url: str) -> None:
    upgrade(database_url, "portal_sessions")
    engine = create_engine(database_url)
    runs = sa.table(
        "sync_runs",
        *(sa.column(c) for c in ("connection_id", "started_at", "finished_at", "status")),
        *(sa.column(f"invoices_{c}") for c in ("seen", "created", "updated", "failed")),
        sa.column("xero_calls"),
        sa.column("dataverse_calls"),
    )
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO connections (id, name, name_key, status, timezone, xero_url, "
                "dataverse_authority, secrets, poll_seconds, created_at, updated_at, plan, "
                "sync_interval) VALUES ('c1', 'C', 'c', 'active', 'UTC', 'x', 'y', 's', 300, "
                ":now, :now, 'trial', 300)"
            ),
            {"now": datetime.now(UTC)},
        )
        for day, hour, created, failed, finished in (
            (1, 9, 2, 1, True),
            (1, 23, 3, 0, True),
            (2, 0, 4, 2, True),
            (2, 5, 9, 9, False),  # still running (or cut off): counted by no pass
        ):
            started = datetime(2026, 11, day, hour, 30, tzinfo=UTC)
            conn.execute(
                runs.insert().values(
                    connection_id="c1",
                    started_at=started,
                    finished_at=started if finished else None,
                    status="succeeded" if finished else "running",
                    invoices_seen=0,
                    invoices_created=created,
                    invoices_updated=0,
                    invoices_failed=failed,
                    xero_calls=0,
                    dataverse_calls=0,
                )
            )
    upgrade(database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT day, created, updated, failed FROM sync_days ORDER BY day")
        ).all()
    engine.dispose()
    days = [(d if isinstance(d, date) else date.fromisoformat(d), c, u, f) for d, c, u, f in rows]
    assert days == [(date(2026, 11, 1), 5, 0, 1), (date(2026, 11, 2), 4, 0, 2)]
