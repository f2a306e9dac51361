"""The Fernet key's sources and the SecretBox."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from d365xero.config import get_settings
from d365xero.errors import ConfigurationError, StoreError
from d365xero.store.secrets import SecretBox, derive_key, load_key, secret_box


def test_seal_then_open_gives_the_same_dict(box: SecretBox) -> None:
    secrets = {"xero_client_secret": "xs-123", "tokens": {"refresh": "rt-456"}, "n": 3}
    sealed = box.seal(secrets)
    assert box.open(sealed) == secrets
    assert "xs-123" not in sealed and "rt-456" not in sealed


def test_a_different_key_cannot_open(box: SecretBox) -> None:
    sealed = box.seal({"a": "b"})
    other = SecretBox(Fernet.generate_key())
    with pytest.raises(StoreError, match="D365XERO_SECRET_KEY changed"):
        other.open(sealed)


def test_garbage_cannot_be_opened(box: SecretBox) -> None:
    with pytest.raises(StoreError, match="cannot decrypt connection secrets"):
        box.open("not a token é")


def test_repr_hides_the_key() -> None:
    key = Fernet.generate_key()
    assert key.decode() not in repr(SecretBox(key))


def test_key_is_generated_once_into_the_data_folder_and_reused(tmp_path: Path) -> None:
    settings = get_settings(data_dir=tmp_path / "data", secret_key=None)
    first = load_key(settings)
    key_file = tmp_path / "data" / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text().strip() == first.decode()
    Fernet(first)  # a valid key
    assert load_key(get_settings(data_dir=tmp_path / "data", secret_key=None)) == first
    # what one start sealed, the next start opens
    sealed = secret_box(settings).seal({"x": "y"})
    assert secret_box(settings).open(sealed) == {"x": "y"}


def test_racing_starts_agree_on_one_key(tmp_path: Path) -> None:
    settings = get_settings(data_dir=tmp_path, secret_key=None)
    keys: list[bytes] = []
    threads = [threading.Thread(target=lambda: keys.append(load_key(settings))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8 and len(set(keys)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["secret.key"]  # no temporary files left


def test_a_fernet_key_setting_is_used_as_is(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    assert load_key(get_settings(data_dir=tmp_path, secret_key=key)) == key.encode()
    assert not (tmp_path / "secret.key").exists()


def test_any_other_setting_is_derived_the_same_every_time(tmp_path: Path) -> None:
    settings = get_settings(data_dir=tmp_path, secret_key="correct horse battery staple")
    key = load_key(settings)
    Fernet(key)
    assert key == load_key(settings) == derive_key("correct horse battery staple")
    assert key != derive_key("correct horse battery stapler")
    assert not (tmp_path / "secret.key").exists()


def test_key_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("D365XERO_SECRET_KEY", key)
    monkeypatch.setenv("D365XERO_DATA_DIR", str(tmp_path))
    assert load_key(get_settings()) == key.encode()


def test_a_damaged_key_file_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "secret.key").write_text("not a key\n")
    with pytest.raises(ConfigurationError, match=r"secret\.key"):
        load_key(get_settings(data_dir=tmp_path, secret_key=None))
