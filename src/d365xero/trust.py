"""Which certificate authorities the connector trusts: the public ones, any named by
D365XERO_CA_BUNDLE (an on-premises Dynamics, say), and the local CA of its own data folder,
which `d365xero emulate --tls` and `d365xero demo` create there for the emulators."""

from __future__ import annotations

import hashlib
import ssl
import tempfile
from pathlib import Path

import certifi

from d365xero.config import Settings


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


def ssl_context(*extra_ca: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=certifi.where())
    for ca in extra_ca:
        if ca:
            context.load_verify_locations(cafile=str(ca))
    return context


def ca_bundle_file(*extra_ca: Path | None) -> str:
    """A PEM file of certifi's roots plus `extra_ca`, for clients that take only a file path
    (urllib3 in xero-python, requests in msal)."""
    cas = [ca for ca in extra_ca if ca]
    if not cas:
        return certifi.where()
    pem = b"\n".join([Path(certifi.where()).read_bytes(), *(ca.read_bytes() for ca in cas)])
    path = Path(tempfile.gettempdir()) / f"d365xero-ca-{hashlib.sha256(pem).hexdigest()[:16]}.pem"
    if not path.exists():
        path.write_bytes(pem)
    return str(path)
