"""Log fields named like secrets are masked, whoever logs them; ids are kept."""

from __future__ import annotations

from d365xero.logs import MASK, mask_secrets


def test_secret_fields_are_masked_and_ids_kept() -> None:
    event = {
        "event": "x",
        "client_secret": "s1",
        "access_token": "t1",
        "webhook_key": "k1",
        "Authorization": "Bearer t2",
        "password": "p",
        "code": "c",
        "connection_id": "c-1",
        "run_id": 7,
        "invoice_id": "i-1",
        "keys_seen": 3,
    }
    masked = mask_secrets(None, "info", dict(event))
    for name in (
        "client_secret",
        "access_token",
        "webhook_key",
        "Authorization",
        "password",
        "code",
    ):
        assert masked[name] == MASK
    for name in ("event", "connection_id", "run_id", "invoice_id", "keys_seen"):
        assert masked[name] == event[name]
