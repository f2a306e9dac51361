"""A local certificate authority kept in the data folder, and server certificates it signs.

Real Dataverse, Entra ID and Xero are HTTPS only, and msal and Microsoft's Dataverse SDK refuse
plain http, so the emulators serve HTTPS with certificates from this CA. The connector trusts it
when it shares the data folder (trust.local_ca_path), or through D365XERO_CA_BUNDLE (other
clients: REQUESTS_CA_BUNDLE for requests-based SDKs).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from d365xero.trust import local_ca_path


@contextmanager
def _exclusive(lock: Path, stale_after: float = 30.0) -> Iterator[None]:
    """Held by one process at a time: the lock file exists while it is held. A lock older than
    `stale_after` seconds is a creator that died half-way, and is taken over."""
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            break
        except FileExistsError:
            try:
                if time.time() - lock.stat().st_mtime > stale_after:
                    lock.unlink(missing_ok=True)
            except FileNotFoundError:
                pass
            time.sleep(0.02)
    os.close(fd)
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


@dataclass(frozen=True)
class TlsFiles:
    certfile: Path
    keyfile: Path


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


class LocalCA:
    def __init__(self, folder: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey):
        self.folder = folder
        self.cert = cert
        self.key = key

    @property
    def cert_path(self) -> Path:
        return local_ca_path(self.folder.parent)

    @classmethod
    def load_or_create(cls, data_dir: Path) -> LocalCA:
        """The data folder's CA, made on first use. Several processes may start at once on a
        fresh folder (`emulate xero` and `emulate dataverse`): one makes it, under a lock file,
        and the others load that one, so every server certificate chains to the CA on disk."""
        folder = local_ca_path(data_dir).parent
        folder.mkdir(parents=True, exist_ok=True)
        found = cls._load(folder)
        if found is not None:
            return found
        with _exclusive(folder / ".ca.lock"):
            return cls._load(folder) or cls._create(folder)

    @classmethod
    def _load(cls, folder: Path) -> LocalCA | None:
        """The CA kept in `folder` if it is whole (key and certificate a pair) and good for more
        than a day."""
        cert_path, key_path = local_ca_path(folder.parent), folder / "ca-key.pem"
        try:
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        except (OSError, ValueError):
            return None
        if not isinstance(key, ec.EllipticCurvePrivateKey) or cert.public_key() != key.public_key():
            return None
        if cert.not_valid_after_utc <= dt.datetime.now(dt.UTC) + dt.timedelta(days=1):
            return None
        return cls(folder, cert, key)

    @classmethod
    def _create(cls, folder: Path) -> LocalCA:
        cert_path, key_path = local_ca_path(folder.parent), folder / "ca-key.pem"
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "d365xero local CA")])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        _write_key(key, key_path)
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return cls(folder, cert, key)

    def issue(self, name: str, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> TlsFiles:
        """A server certificate for `hosts`, written beside the CA as `<name>.pem`."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        sans: list[x509.GeneralName] = []
        for host in hosts:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                sans.append(x509.DNSName(host))
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), False
            )
            .sign(self.key, hashes.SHA256())
        )
        files = TlsFiles(self.folder / f"{name}.pem", self.folder / f"{name}-key.pem")
        files.certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(key, files.keyfile)
        return files
