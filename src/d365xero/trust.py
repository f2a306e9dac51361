"""Which certificate authorities the connector trusts: the public ones, plus any named by
D365XERO_CA_BUNDLE (an on-premises Dynamics, or the emulators' local CA)."""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import certifi


def ssl_context(extra_ca: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=certifi.where())
    if extra_ca:
        context.load_verify_locations(cafile=str(extra_ca))
    return context


@dataclass
class _Bundles:
    """The bundle files this process wrote, in a folder only it made (mkdtemp: 0700, a fresh
    name); removed when the process exits."""

    folder: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_bundles = _Bundles()


def ca_bundle_file(extra_ca: Path | None) -> str:
    """A PEM file of certifi's roots plus `extra_ca`, for clients that take only a file path
    (urllib3 in xero-python, requests in msal). Never a file found lying in the system temp
    folder, where another local user could plant a CA: only one this process wrote (0600) in
    its own private folder, reused for the same content."""
    if not extra_ca:
        return certifi.where()
    pem = Path(certifi.where()).read_bytes() + b"\n" + extra_ca.read_bytes()
    digest = hashlib.sha256(pem).hexdigest()
    with _bundles.lock:
        path = _bundles.files.get(digest)
        if path is None or not path.is_file():  # a temp-folder cleaner may have removed it
            path = _bundles.files[digest] = _write_private(pem)
    return str(path)


def _write_private(pem: bytes) -> Path:
    folder = _bundles.folder
    if folder is None or not folder.is_dir():
        folder = _bundles.folder = Path(tempfile.mkdtemp(prefix="d365xero-trust-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    descriptor, name = tempfile.mkstemp(prefix="ca-", suffix=".pem", dir=folder)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
    return Path(name)
