from __future__ import annotations

import stat
from pathlib import Path

import pytest

from app.config import Settings
from app.crypto import Cipher, DecryptionError, load_secret


def test_round_trip_and_tamper() -> None:
    c = Cipher("one")
    sealed = c.encrypt("pässwörd")
    assert sealed != c.encrypt("pässwörd")  # random IV
    assert "pässwörd" not in sealed and Cipher.is_encrypted(sealed)
    assert c.decrypt(sealed) == "pässwörd"
    with pytest.raises(DecryptionError):
        Cipher("two").decrypt(sealed)
    with pytest.raises(DecryptionError):
        c.decrypt(sealed[:-4] + "AAAA")
    with pytest.raises(DecryptionError):
        c.decrypt("plaintext")


def test_generated_secret_is_persisted_privately(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    first = load_secret(settings)
    assert "MAILGATE_SECRET is not set" in caplog.text
    path = tmp_path / "data" / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret(settings) == first and len(first) >= 32
    assert first not in caplog.text
    assert load_secret(Settings(data_dir=tmp_path / "data", secret="explicit")) == "explicit"
