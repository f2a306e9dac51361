"""Xero's JSON conventions: MS-JSON dates `/Date(ms+0000)/`, numbers for money, and the
date strings Xero accepts on input (reference/xero.md §3.2)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
ZERO_ID = "00000000-0000-0000-0000-000000000000"


def ms_date(value: date | datetime) -> str:
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return f"/Date({int(value.timestamp() * 1000)}+0000)/"


def iso_utc(value: datetime) -> str:
    """`UpdatedDateUTCString`: the UpdatedDateUTC moment in ISO-8601, to the second, e.g.
    2025-02-26T08:02:32Z (Xero-OpenAPI PR #823, on Invoices, Credit Notes, Payments,
    Overpayments and Prepayments)."""
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def date_string(value: date) -> str:
    """Xero's `DateString` companion field: local midnight without offset."""
    return f"{value.isoformat()}T00:00:00"


def parse_date(value: Any) -> date | None:
    """A date from `2026-11-25`, `2026-11-25T00:00:00` or `/Date(ms+0000)/`; None if unparseable."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    match = _MS_DATE.match(text)
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, UTC).date()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def parse_datetime(value: Any) -> datetime | None:
    """A UTC timestamp from ISO text or MS-JSON (used for If-Modified-Since and `where`)."""
    if not isinstance(value, str):
        return None
    match = _MS_DATE.match(value.strip())
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, UTC)
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# Amounts beyond what an accounting ledger holds are refused rather than computed (the
# emulator's bound; Xero's own limit is not documented).
MAX_MAGNITUDE = Decimal("1e14")


def parse_decimal(value: Any) -> Decimal | None:
    """A number from JSON (int, float or numeric string) within MAX_MAGNITUDE; None otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int | float | str):
        try:
            result = Decimal(str(value))
        except (InvalidOperation, ValueError):
            return None
    else:
        return None
    if not result.is_finite() or abs(result) >= MAX_MAGNITUDE:
        return None
    return result


def parse_bool(value: Any, default: bool) -> bool:
    """Query booleans: the SDK sends `summarizeErrors=False` (Python-capitalised)."""
    if value is None or value == "":
        return default
    return str(value).strip().lower() in ("true", "1", "yes")


def render(value: Any) -> Any:
    """Stored resources -> JSON-ready values; keys starting with `_` are internal."""
    if isinstance(value, dict):
        return {k: render(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [render(v) for v in value]
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return ms_date(value)
    return value


def render_dict(value: dict[str, Any]) -> dict[str, Any]:
    rendered: dict[str, Any] = render(value)
    return rendered
