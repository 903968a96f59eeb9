"""TLS contexts from an account's ``tls`` settings."""

from __future__ import annotations

import ssl
from typing import Any

_VERSIONS = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}


def context(tls: dict[str, Any] | None) -> ssl.SSLContext:
    tls = tls or {}
    ctx = ssl.create_default_context()
    if tls.get("rejectUnauthorized") is False:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if tls.get("minVersion") in _VERSIONS:
        ctx.minimum_version = _VERSIONS[tls["minVersion"]]
    return ctx
