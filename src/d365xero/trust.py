"""Which certificate authorities the connector trusts: the public ones, plus any named by
D365XERO_CA_BUNDLE (an on-premises Dynamics, or the emulators' local CA)."""

from __future__ import annotations

import hashlib
import ssl
import tempfile
from pathlib import Path

import certifi


def ssl_context(extra_ca: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=certifi.where())
    if extra_ca:
        context.load_verify_locations(cafile=str(extra_ca))
    return context


def ca_bundle_file(extra_ca: Path | None) -> str:
    """A PEM file of certifi's roots plus `extra_ca`, for clients that take only a file path
    (urllib3 in xero-python, requests in msal)."""
    if not extra_ca:
        return certifi.where()
    pem = Path(certifi.where()).read_bytes() + b"\n" + extra_ca.read_bytes()
    path = Path(tempfile.gettempdir()) / f"d365xero-ca-{hashlib.sha256(pem).hexdigest()[:16]}.pem"
    if not path.exists():
        path.write_bytes(pem)
    return str(path)
