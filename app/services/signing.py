"""Signed data for links this instance hands out (tracking links, hosted-form links).

The key is derived from the instance secret, so a link needs nothing stored to be checked, and
each kind of link signs under its own name so one cannot be passed off as another."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.crypto import load_secret
from app.services.context import Context

_keys: dict[tuple[str | None, str], bytes] = {}


def _key(ctx: Context) -> bytes:
    """Derived once per instance secret, not per link."""
    cache_key = (ctx.settings.secret, str(ctx.settings.data_dir))
    key = _keys.get(cache_key)
    if key is None:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"mailgate links v1")
        key = _keys[cache_key] = hkdf.derive(load_secret(ctx.settings).encode())
    return key


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signature(ctx: Context, kind: str, data: str) -> str:
    digest = hmac.new(_key(ctx), f"{kind}.{data}".encode(), hashlib.sha256).digest()
    return b64(digest[:18])


def pack(ctx: Context, kind: str, payload: dict[str, Any]) -> tuple[str, str]:
    """``payload`` as compact URL-safe data, and its signature."""
    data = b64(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
    return data, signature(ctx, kind, data)


def valid(ctx: Context, kind: str, data: str, sig: str) -> bool:
    return hmac.compare_digest(signature(ctx, kind, data).encode(), sig.encode("utf-8", "replace"))


def unpack(data: str) -> Any:
    """The JSON in ``data`` (check :func:`valid` first); ValueError when it is not JSON."""
    return json.loads(unb64(data))
