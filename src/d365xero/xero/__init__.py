"""The Xero client: Xero's official xero-python SDK behind a thin adapter (tokens, retries,
Idempotency-Key, batching, call counts)."""
