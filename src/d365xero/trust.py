"""Which certificate authorities the connector trusts: the public ones, any named by
D365XERO_CA_BUNDLE (an on-premises Dynamics, say), and the local CA of its own data folder,
which `d365xero emulate --tls` and `d365xero demo` create there for the emulators."""

from __future__ import annotations

import hashlib
import os
import ssl
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import certifi

from d365xero.config import Settings

ExtraCAs = Path | Sequence[Path] | None  # one CA file, several (as extra_cas gives), or none


def local_ca_path(data_dir: Path) -> Path:
    """Where the data folder's local CA certificate is (emulators/core/tls.py keeps it there;
    the service finds it by this path and never imports the emulators)."""
    return data_dir / "tls" / "ca.pem"


def extra_cas(settings: Settings) -> tuple[Path, ...]:
    """The CAs trusted beside the public ones: D365XERO_CA_BUNDLE, then the data folder's local
    CA if there is one. That folder already holds the store and, by default, the secret key: who
    can write it owns the connector anyway; keep emulator and production data folders apart."""
    found = [settings.ca_bundle] if settings.ca_bundle else []
    local = local_ca_path(settings.data_dir)
    if local.is_file() and not any(p.resolve() == local.resolve() for p in found):
        found.append(local)
    return tuple(found)


def _paths(extra_ca: ExtraCAs) -> list[Path]:
    if extra_ca is None:
        return []
    return [extra_ca] if isinstance(extra_ca, Path) else list(extra_ca)


def ssl_context(extra_ca: ExtraCAs) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=certifi.where())
    for ca in _paths(extra_ca):
        context.load_verify_locations(cafile=str(ca))
    return context


@dataclass(frozen=True)
class SharedTls:
    """The SSL contexts every connection of a process shares, one per client library (urllib3
    may adjust the one it is given, so httpx's is its own). A context holds the whole CA
    bundle, about 0.7 MiB: made per connection and per client, 1,000 connections held about
    2 GiB of them (docs/BENCHMARKS.md, "Many connections")."""

    httpx: ssl.SSLContext
    urllib3: ssl.SSLContext


def shared_tls(extra_ca: ExtraCAs) -> SharedTls:
    return SharedTls(ssl_context(extra_ca), ssl_context(extra_ca))


def ca_bundle_file(extra_ca: ExtraCAs, data_dir: Path) -> str:
    """A PEM file of certifi's roots plus `extra_ca`, for clients that take only a file path
    (urllib3 in xero-python, requests in msal).

    It is written afresh on every call, as `<data_dir>/trust/ca-<hash>.pem` (0600, in a folder
    made 0700), and replaces whatever stood there: never a file found lying in the system temp
    folder, where another local user could plant a CA. One name per content, in the data folder,
    so files do not pile up, even from processes that were killed."""
    cas = _paths(extra_ca)
    if not cas:
        return certifi.where()
    pem = b"\n".join([Path(certifi.where()).read_bytes(), *(ca.read_bytes() for ca in cas)])
    folder = data_dir / "trust"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)  # one made before, or by hand, is made private too
    path = folder / f"ca-{hashlib.sha256(pem).hexdigest()[:16]}.pem"
    descriptor, written = tempfile.mkstemp(suffix=".tmp", dir=folder)  # 0600, a fresh name
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)
        os.replace(written, path)  # atomic: a client reading the old file sees all of it
    except BaseException:
        Path(written).unlink(missing_ok=True)
        raise
    return str(path)
