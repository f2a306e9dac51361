"""Connection secrets at rest: a JSON dict sealed with Fernet.

The key comes from D365XERO_SECRET_KEY (a Fernet key as is, any other string through scrypt), or
is generated once into `<data_dir>/secret.key` (mode 0600) and reused on every later start.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from d365xero.config import Settings
from d365xero.errors import ConfigurationError, StoreError

KEY_FILE = "secret.key"
# Keys replaced by `secrets rotate --new-key` when the key lives in the data folder: still read
# with until the rotation has finished, then removed.
OLD_KEYS_FILE = "secret.key.old"
# A fixed salt: the derived key must be the same on every start and every worker, and the
# setting itself is the installation's secret.
_KDF_SALT = b"d365xero/secret-key/v1"


def _is_fernet_key(candidate: str) -> bool:
    try:
        Fernet(candidate)
    except (ValueError, TypeError):
        return False
    return True


def derive_key(passphrase: str) -> bytes:
    """A Fernet key from any string, the same every time."""
    kdf = Scrypt(salt=_KDF_SALT, length=32, n=2**14, r=8, p=1)
    return base64.urlsafe_b64encode(kdf.derive(passphrase.encode("utf-8")))


def _read_key_file(path: Path) -> bytes:
    text = path.read_text(encoding="ascii").strip()
    if not _is_fernet_key(text):
        raise ConfigurationError(f"{path} does not hold a Fernet key; restore it or remove it")
    return text.encode("ascii")


def _create_key_file(path: Path) -> bytes:
    """Write a new key unless another process got there first; either way return the one on disk.
    The key is written to a private temporary file and hard-linked into place, so no reader ever
    sees a half-written key and two racing starts agree on one."""
    key = Fernet.generate_key()
    temporary = path.with_name(f".{KEY_FILE}.{uuid.uuid4().hex}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(key + b"\n")
        os.link(temporary, path)
    except FileExistsError:
        return _read_key_file(path)
    finally:
        temporary.unlink(missing_ok=True)
    return key


def _as_key(configured: str) -> bytes:
    configured = configured.strip()
    return configured.encode("ascii") if _is_fernet_key(configured) else derive_key(configured)


def old_keys(settings: Settings) -> list[bytes]:
    """The keys secrets may still be sealed with during a rotation: D365XERO_OLD_SECRET_KEYS,
    then the data folder's secret.key.old."""
    found = [_as_key(k) for k in (settings.old_secret_keys or "").split(",") if k.strip()]
    path = settings.data_dir / OLD_KEYS_FILE
    if path.exists():
        found += [line.encode("ascii") for line in path.read_text("ascii").split() if line]
    return found


def load_key(settings: Settings, *, create: bool = True) -> bytes | None:
    """The installation's Fernet key (see the module docstring for where it comes from); with
    `create` False, None when there is none yet rather than a new one."""
    if settings.secret_key:
        return _as_key(settings.secret_key)
    path = settings.data_dir / KEY_FILE
    if path.exists():
        return _read_key_file(path)
    if not create:
        return None
    settings.ensure_data_dir()
    return _create_key_file(path)


class SecretBox:
    """Seals a dict of secrets into text for the store and opens it again."""

    def __init__(
        self,
        key: bytes | str | None,
        missing: str = "there is no secret key",
        old: list[bytes] | None = None,
    ) -> None:
        """`key` None: a box that opens nothing and says `missing` when asked to. `old`: keys
        it still opens with (a rotation in progress); it seals with `key` alone."""
        self._primary = Fernet(key) if key is not None else None
        self._raw = key.encode("ascii") if isinstance(key, str) else key
        keys = [self._primary, *(Fernet(k) for k in old or [])] if self._primary else []
        self._fernet = MultiFernet(keys) if keys else None
        self._missing = missing

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"

    def _key(self) -> MultiFernet:
        if self._fernet is None:
            raise ConfigurationError(self._missing)
        return self._fernet

    def subkey(self, purpose: str) -> bytes:
        """A key for one purpose (e.g. signing the portal's CSRF tokens), derived from the
        secret key so that no second secret needs keeping, and no purpose's key reveals it."""
        if self._raw is None:
            raise ConfigurationError(self._missing)
        return hmac.new(self._raw, f"d365xero:{purpose}".encode(), hashlib.sha256).digest()

    def seal(self, values: Mapping[str, Any]) -> str:
        plain = json.dumps(dict(values), sort_keys=True, separators=(",", ":"))
        return self._key().encrypt(plain.encode("utf-8")).decode("ascii")

    def reseal(self, sealed: str) -> str | None:
        """`sealed` sealed again with the current key; None if it already is."""
        fernet = self._key()
        assert self._primary is not None
        try:
            self._primary.decrypt(sealed.encode("ascii"))
            return None
        except InvalidToken:
            pass
        try:
            return fernet.rotate(sealed.encode("ascii")).decode("ascii")
        except InvalidToken as exc:
            raise StoreError(
                "cannot decrypt connection secrets with D365XERO_SECRET_KEY or any of "
                "D365XERO_OLD_SECRET_KEYS: give the key they were sealed with"
            ) from exc

    def open(self, sealed: str) -> dict[str, Any]:
        fernet = self._key()
        try:
            plain = fernet.decrypt(sealed.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError) as exc:
            raise StoreError(
                "cannot decrypt connection secrets: D365XERO_SECRET_KEY changed? (or the data "
                "folder's secret.key: the secrets were sealed with another key)"
            ) from exc
        opened = json.loads(plain)
        if not isinstance(opened, dict):
            raise StoreError("connection secrets are not a JSON object")
        return opened


def secret_box(settings: Settings, *, create: bool = True) -> SecretBox:
    """The installation's box; with `create` False and no key yet, one that opens nothing."""
    missing = (
        "cannot decrypt connection secrets: D365XERO_SECRET_KEY is not set and "
        f"{settings.data_dir / KEY_FILE} does not exist (the key they were sealed with is gone)"
    )
    return SecretBox(load_key(settings, create=create), missing, old_keys(settings))


def new_key_file(settings: Settings) -> None:
    """Replace the data folder's key with a new one, keeping the current one in secret.key.old
    (read with until the rotation ends). The old key is saved before the new one replaces it,
    and the replacement is an atomic rename: a crash at any moment loses no key."""
    if settings.secret_key:
        raise ConfigurationError(
            "D365XERO_SECRET_KEY is set: put the new key there and the old one in "
            "D365XERO_OLD_SECRET_KEYS instead of --new-key"
        )
    path = settings.data_dir / KEY_FILE
    if not path.exists():
        raise ConfigurationError(f"{path} does not exist: there is no key to rotate")
    current = _read_key_file(path)
    old_path = settings.data_dir / OLD_KEYS_FILE
    kept = old_path.read_text("ascii").split() if old_path.exists() else []
    _write_private(old_path, "\n".join([current.decode("ascii"), *kept]) + "\n")
    _write_private(path, Fernet.generate_key().decode("ascii") + "\n")


def forget_old_key_file(settings: Settings) -> bool:
    """Once every secret is sealed with the current key: the replaced keys go."""
    path = settings.data_dir / OLD_KEYS_FILE
    if not path.exists():
        return False
    path.unlink()
    return True


def _write_private(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
