"""The lists the account forms check against, read once from the package (portal/data: where
they come from and their licences are in its README.txt)."""

from __future__ import annotations

import gzip
from functools import cache
from importlib.resources import files

# The tz database's name is its own; the register form says what people expect to read.
_RENAMED = {"GB": "United Kingdom"}


@cache
def breached_passwords() -> frozenset[str]:
    raw = files("d365xero.portal").joinpath("data/breached-passwords.txt.gz").read_bytes()
    return frozenset(gzip.decompress(raw).decode("utf-8").split())


@cache
def countries() -> dict[str, str]:
    """ISO 3166-1 alpha-2 code to name, in the order of the names."""
    text = files("d365xero.portal").joinpath("data/countries.txt").read_text("utf-8")
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            code, _, name = line.partition("\t")
            found[code] = _RENAMED.get(code, name)
    return dict(sorted(found.items(), key=lambda item: item[1]))
