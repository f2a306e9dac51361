"""Which certificate authorities the connector trusts: the public ones, plus any named by
D365XERO_CA_BUNDLE (an on-premises Dynamics, or the emulators' local CA)."""

from __future__ import annotations

import hashlib
import os
import ssl
import tempfile
from pathlib import Path

import certifi


def ssl_context(extra_ca: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=certifi.where())
    if extra_ca:
        context.load_verify_locations(cafile=str(extra_ca))
    return context


def ca_bundle_file(extra_ca: Path | None, data_dir: Path) -> str:
    """A PEM file of certifi's roots plus `extra_ca`, for clients that take only a file path
    (urllib3 in xero-python, requests in msal).

    It is written afresh on every call, as `<data_dir>/trust/ca-<hash>.pem` (0600, in a folder
    made 0700), and replaces whatever stood there: never a file found lying in the system temp
    folder, where another local user could plant a CA. One name per content, in the data folder,
    so files do not pile up, even from processes that were killed."""
    if not extra_ca:
        return certifi.where()
    pem = Path(certifi.where()).read_bytes() + b"\n" + extra_ca.read_bytes()
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
