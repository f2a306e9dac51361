"""Stripe's request bodies: application/x-www-form-urlencoded with bracketed keys
(`line_items[0][price_data][currency]=gbp`, `metadata[plan]=x`, `expand[]=subscription`), as the
SDKs encode them (stripe-python `_encode.py`), turned back into nested dicts and lists."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from d365xero.emulators.stripe.errors import InvalidRequest

_PART = re.compile(r"\[([^\[\]]*)\]")


def _path(key: str) -> list[str]:
    head, _, rest = key.partition("[")
    parts = [head]
    if rest:
        rest = "[" + rest
        found = _PART.findall(rest)
        if "".join(f"[{p}]" for p in found) != rest:
            raise InvalidRequest(f"Invalid parameter name: {key}", code="parameter_unknown")
        parts.extend(found)
    return parts


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    items = {k: _listify(v) for k, v in node.items()}
    if items and all(k.isdigit() for k in items):
        return [items[k] for k in sorted(items, key=int)]
    return items


def decode(body: bytes) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        parts = _path(key)
        node = root
        for i, part in enumerate(parts[:-1]):
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
            if parts[i + 1] == "":  # `expand[]=a&expand[]=b`: append
                parts[i + 1] = str(len(node))
        last = parts[-1]
        node[last if last else str(len(node))] = value
    return _listify(root)  # type: ignore[no-any-return]
