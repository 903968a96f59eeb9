"""TLS contexts from an account's ``tls`` settings."""

from __future__ import annotations

import functools
import ssl
from typing import Any

_VERSIONS = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}


def context(tls: dict[str, Any] | None) -> ssl.SSLContext:
    """Shared per distinct settings: building one loads the system CA store, which costs tens
    of milliseconds, far more than the SMTP transaction it is used for."""
    tls = tls or {}
    min_version = tls.get("minVersion")
    return _context(
        tls.get("rejectUnauthorized") is not False, min_version if min_version in _VERSIONS else None
    )


@functools.lru_cache(maxsize=16)
def _context(verify: bool, min_version: str | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if min_version is not None:
        ctx.minimum_version = _VERSIONS[min_version]
    return ctx
