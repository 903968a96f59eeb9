"""Encryption at rest for mailbox credentials, keyed from ``MAILGATE_SECRET``."""

from __future__ import annotations

import base64
import logging
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.config import Settings

log = logging.getLogger(__name__)

PREFIX = "$mg1$"
SECRET_FILE = "secret.key"


class DecryptionError(Exception):
    """A stored value cannot be decrypted: the secret changed or the row was tampered with."""


class Cipher:
    """Fernet (AES-128-CBC + HMAC-SHA256) with a key derived by HKDF, so the secret can be any string."""

    def __init__(self, secret: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"mailgate credentials v1").derive(
            secret.encode()
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def encrypt(self, plaintext: str) -> str:
        return PREFIX + self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            raise DecryptionError("value is not encrypted")
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode()).decode()
        except InvalidToken:
            raise DecryptionError(
                "cannot decrypt a stored credential: was MAILGATE_SECRET changed?"
            ) from None

    @staticmethod
    def is_encrypted(value: object) -> bool:
        return isinstance(value, str) and value.startswith(PREFIX)


def load_secret(settings: Settings) -> str:
    """Use MAILGATE_SECRET, else a secret generated once and kept in the data directory."""
    if settings.secret:
        return settings.secret
    path = Path(settings.data_dir) / SECRET_FILE
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process generated it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(secret + "\n")
    log.warning(
        "MAILGATE_SECRET is not set: generated a new secret in %s. Back it up; without it stored "
        "mailbox credentials cannot be decrypted.",
        path,
    )
    return secret
