"""An emulator's plain state as JSON, and back, without losing a type.

The models hold Decimals (money must come back as the same Decimal, "200.00" not 200.0),
dates, aware datetimes, tuples, frozensets, bytes and a few records (dataclasses). Each is
written as a one-key object tagged with `$`: `{"$decimal": "200.00"}`. A dict of the state whose
keys are not all plain strings (or that start with `$`, as a client's JSON might) is written as
`{"$dict": [[key, value], ...]}`, so a tag can never be mistaken for data. JSON rather than
pickle: the file is readable, and loading it cannot run code.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any


class StateCodec:
    """Encodes and decodes state built of JSON types, the types above and `records`."""

    def __init__(self, records: Iterable[type] = ()) -> None:
        self.records: dict[str, type] = {}
        for record in records:
            if not dataclasses.is_dataclass(record):
                raise TypeError(f"{record.__name__} is not a dataclass")
            self.records[record.__name__] = record

    def encode(self, value: Any) -> Any:
        if value is None or isinstance(value, bool | int | float | str):
            return value
        if isinstance(value, list):
            return [self.encode(v) for v in value]
        if isinstance(value, dict):
            if all(isinstance(k, str) and not k.startswith("$") for k in value):
                return {k: self.encode(v) for k, v in value.items()}
            return {"$dict": [[self.encode(k), self.encode(v)] for k, v in value.items()]}
        if isinstance(value, Decimal):
            return {"$decimal": str(value)}
        if isinstance(value, datetime):  # before date: a datetime is a date
            return {"$datetime": value.isoformat()}
        if isinstance(value, date):
            return {"$date": value.isoformat()}
        if isinstance(value, tuple):
            return {"$tuple": [self.encode(v) for v in value]}
        if isinstance(value, frozenset | set):
            tag = "$frozenset" if isinstance(value, frozenset) else "$set"
            return {tag: sorted((self.encode(v) for v in value), key=repr)}
        if isinstance(value, bytes):
            return {"$bytes": base64.b64encode(value).decode("ascii")}
        name = type(value).__name__
        if self.records.get(name) is type(value) and dataclasses.is_dataclass(value):
            fields = {
                f.name: self.encode(getattr(value, f.name)) for f in dataclasses.fields(value)
            }
            return {"$record": [name, fields]}
        raise TypeError(f"the emulator state holds a {name}, which its file cannot keep")

    def decode(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            [(key, inner)] = value.items()
            if key.startswith("$"):
                return self._tagged(key, inner)
        return {k: self.decode(v) for k, v in value.items()}

    def _tagged(self, tag: str, inner: Any) -> Any:
        match tag:
            case "$decimal":
                return Decimal(inner)
            case "$datetime":
                return datetime.fromisoformat(inner)
            case "$date":
                return date.fromisoformat(inner)
            case "$tuple":
                return tuple(self.decode(v) for v in inner)
            case "$frozenset":
                return frozenset(self.decode(v) for v in inner)
            case "$set":
                return {self.decode(v) for v in inner}
            case "$bytes":
                return base64.b64decode(inner)
            case "$dict":
                return {self.decode(k): self.decode(v) for k, v in inner}
            case "$record":
                name, fields = inner
                if name not in self.records:
                    raise ValueError(f"unknown record {name!r}")
                return self.records[name](**{k: self.decode(v) for k, v in fields.items()})
        raise ValueError(f"unknown tag {tag!r}")
