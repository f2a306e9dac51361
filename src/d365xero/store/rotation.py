"""`secrets rotate`: every stored credential sealed again with the current key, row by row,
committed in batches, so an interrupted rotation resumes where it stopped (rows already under the
current key are passed over) and every process keeps reading throughout (old keys still open)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from d365xero.store.models import Connection, ConnectionDraft
from d365xero.store.secrets import SecretBox

BATCH = 50


@dataclass
class Rotation:
    resealed: int = 0
    current: int = 0  # already sealed with the current key


def rotate(
    sessions: sessionmaker[Session],
    box: SecretBox,
    *,
    batch: int = BATCH,
    after_batch: Callable[[Rotation], None] = lambda progress: None,
) -> Rotation:
    """Connections' secrets, then the portal's drafts (tokens of connections being made)."""
    progress = Rotation()
    for model, column in ((Connection, "secrets"), (ConnectionDraft, "data")):
        _rotate_rows(sessions, box, model, column, batch, progress, after_batch)
    return progress


def _rotate_rows(
    sessions: sessionmaker[Session],
    box: SecretBox,
    model: type[Connection] | type[ConnectionDraft],
    column: str,
    batch: int,
    progress: Rotation,
    after_batch: Callable[[Rotation], None],
) -> None:
    last = ""
    while True:
        with sessions.begin() as session:
            found = session.scalars(
                sa.select(model)
                .where(model.id > last)
                .order_by(model.id)
                .limit(batch)
                .with_for_update()
            ).all()
            rows = cast(Sequence[Connection | ConnectionDraft], found)
            if not rows:
                return
            for row in rows:
                sealed = box.reseal(getattr(row, column))
                if sealed is None:
                    progress.current += 1
                else:
                    setattr(row, column, sealed)
                    progress.resealed += 1
            last = rows[-1].id
        after_batch(progress)
