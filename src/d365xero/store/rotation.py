"""`secrets rotate`: every stored credential sealed again with the current key, row by row,
committed in batches, so an interrupted rotation resumes where it stopped (rows already under the
current key are passed over) and every process keeps reading throughout (old keys still open)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from d365xero.store.models import Connection
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
    progress = Rotation()
    last = ""
    while True:
        with sessions.begin() as session:
            rows = session.scalars(
                sa.select(Connection)
                .where(Connection.id > last)
                .order_by(Connection.id)
                .limit(batch)
                .with_for_update()
            ).all()
            if not rows:
                return progress
            for connection in rows:
                sealed = box.reseal(connection.secrets)
                if sealed is None:
                    progress.current += 1
                else:
                    connection.secrets = sealed
                    progress.resealed += 1
            last = rows[-1].id
        after_batch(progress)
