"""TLS for the IMAP and SMTP clients: contexts from an account's ``tls`` settings, the instance-wide
``ignoreMailCertErrors`` switch, and certificate failures worded for people.

An account's ``tls`` object takes the names Node's TLS options use, as EmailEngine passes them on:
``rejectUnauthorized`` (false skips certificate checks), ``minVersion`` ("TLSv1.2"), ``servername``
(the name sent with SNI and checked against the certificate, when it differs from ``host``) and
``ca`` (PEM certificates to trust *instead of* the system store, for a private CA).
"""

from __future__ import annotations

import functools
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

_VERSIONS = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}

#: OpenSSL verification results under the names Node (and so EmailEngine) reports them with.
_VERIFY_CODES = {
    9: "CERT_NOT_YET_VALID",
    10: "CERT_HAS_EXPIRED",
    18: "DEPTH_ZERO_SELF_SIGNED_CERT",
    19: "SELF_SIGNED_CERT_IN_CHAIN",
    20: "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
    21: "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    23: "CERT_REVOKED",
    62: "ERR_TLS_CERT_ALTNAME_INVALID",  # host name mismatch
    64: "ERR_TLS_CERT_ALTNAME_INVALID",  # IP address mismatch
}


def describe(exc: ssl.SSLError) -> tuple[str, str]:
    """(message, code) for a failed handshake: what went wrong with the certificate, if that was it."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = str(exc.verify_message or exc.reason or exc).rstrip(".")
        return f"Certificate verification failed: {reason}", _VERIFY_CODES.get(exc.verify_code, "ETLS")
    return f"TLS failed: {exc.reason or exc}", "ETLS"


#: A server that drops the connection mid-handshake usually found no protocol version or cipher
#: in common (asyncio servers send no alert first).
HANDSHAKE_CLOSED = "TLS handshake failed: the server closed the connection (no common TLS version?)"


class _NamedContext(ssl.SSLContext):
    """Checks and sends ``servername`` whatever host name the connecting library passes: aiosmtplib
    always uses the host it connects to."""

    servername: str | None = None

    def wrap_bio(
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLObject:
        name = self.servername or server_hostname
        return super().wrap_bio(incoming, outgoing, server_side, name, session)


def context(tls: dict[str, Any] | None, *, ignore_cert_errors: bool = False) -> ssl.SSLContext:
    """Shared per distinct settings: building one loads the system CA store, which costs tens
    of milliseconds, far more than the SMTP transaction it is used for.

    ``ignore_cert_errors`` is the instance-wide switch (see :data:`policy`); it wins over the
    account's settings."""
    tls = tls or {}
    min_version = tls.get("minVersion")
    verify = tls.get("rejectUnauthorized") is not False and not ignore_cert_errors
    servername = tls.get("servername")
    ca = tls.get("ca")
    return _context(
        verify,
        min_version if min_version in _VERSIONS else None,
        str(ca) if ca and verify else None,
        str(servername) if servername else None,
    )


@functools.lru_cache(maxsize=64)
def _context(verify: bool, min_version: str | None, ca: str | None, servername: str | None) -> ssl.SSLContext:
    ctx = _NamedContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.servername = servername
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif ca is not None:
        ctx.load_verify_locations(cadata=ca)
    else:
        ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
    if min_version is not None:
        ctx.minimum_version = _VERSIONS[min_version]
    return ctx


def server_name(tls: dict[str, Any] | None, host: str) -> str:
    """The name a certificate must carry: ``servername`` when set, else the host connected to."""
    return str((tls or {}).get("servername") or host)


def check_ca(pem: str) -> None:
    """Raise ``ValueError`` unless ``pem`` holds at least one usable certificate."""
    if "-----BEGIN CERTIFICATE-----" not in pem:
        raise ValueError("must contain PEM certificates (-----BEGIN CERTIFICATE-----)")
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=pem)
    except (ssl.SSLError, ValueError):
        raise ValueError("is not a valid PEM certificate") from None


class CertPolicy:
    """The instance-wide ``ignoreMailCertErrors`` setting as seen by this process.

    Settings live in the database and any process may change them, so the value is re-read through
    an installed source at most once per ``ttl`` seconds, when a connection is about to be opened.
    Until a source is installed (or when it fails), the last known value holds; the default is to
    verify certificates."""

    def __init__(self, ttl: float = 1.0) -> None:
        self.ttl = ttl
        self._source: Callable[[], Awaitable[bool]] | None = None
        self._owner: object = None
        self._value = False
        self._read_at = float("-inf")

    def install(self, owner: object, source: Callable[[], Awaitable[bool]]) -> None:
        """Read the value through ``source`` from now on; again for the same ``owner`` is a no-op."""
        if owner is not self._owner:
            self._owner, self._source = owner, source
            self._read_at = float("-inf")

    def set(self, value: bool) -> None:
        """The setting was changed in this process: use it at once."""
        self._value = value
        self._read_at = time.monotonic()

    def reset(self) -> None:
        self._owner, self._source, self._value, self._read_at = None, None, False, float("-inf")

    @property
    def current(self) -> bool:
        """The last known value, for code that cannot wait for a read."""
        return self._value

    async def ignore_cert_errors(self) -> bool:
        """The value, re-read first when it is older than ``ttl``."""
        source = self._source
        if source is not None and time.monotonic() - self._read_at >= self.ttl:
            try:
                self._value = bool(await source())
            except Exception as exc:  # keep the last known value rather than fail the connection
                log.warning("could not read ignoreMailCertErrors: %s", exc)
            self._read_at = time.monotonic()
        return self._value


#: The process's view of ``ignoreMailCertErrors``; the settings service installs its source.
policy = CertPolicy()
