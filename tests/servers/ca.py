"""A throw-away certificate authority for the TLS test servers.

:class:`CertificateAuthority` writes its own certificate and the server certificates it issues
as PEM files into a directory. EC P-256 keys keep generation at a few milliseconds.

The session's main CA is trusted by the whole pytest process through ``SSL_CERT_FILE`` (see
:func:`trust_bundle`), so every client that verifies certificates with the default trust store
(Mailgate's IMAP and SMTP code, and any spawned ``mailgate serve``) accepts the test servers
without per-account settings. A second, private CA that nothing trusts by default checks the
account's own ``tls.ca`` option.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["CertFiles", "CertificateAuthority", "trust_bundle"]

#: Names the main test servers answer to.
SERVER_NAMES = ("127.0.0.1", "localhost")
#: A name no test server is reached by: its certificate fails host name verification.
WRONG_NAME = "wrong.example"
_SYSTEM_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")


@dataclass(frozen=True)
class CertFiles:
    """A server certificate (leaf first, then the CA) and its private key, as PEM files."""

    cert: Path
    key: Path

    def server_context(self, *, maximum_version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert, self.key)
        if maximum_version is not None:
            ctx.maximum_version = maximum_version
        return ctx


_CA_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _alt_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


class CertificateAuthority:
    """A self-signed root that issues server certificates into ``directory``."""

    def __init__(self, directory: Path, common_name: str = "Mailgate Test CA") -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(_name(common_name))
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_CA_USAGE, critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        #: The CA certificate as PEM text, what an account's ``tls.ca`` carries.
        self.pem = self.certificate.public_bytes(serialization.Encoding.PEM).decode()
        self.path = self.directory / "ca.pem"
        self.path.write_text(self.pem)

    def issue(self, stem: str, names: tuple[str, ...] = SERVER_NAMES, *, expired: bool = False) -> CertFiles:
        """A server certificate for ``names`` (IP addresses or DNS names), written as ``stem``.pem/.key."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        start, end = (now - dt.timedelta(days=10), now - dt.timedelta(days=1)) if expired else (
            now - dt.timedelta(days=1), now + dt.timedelta(days=30)
        )  # fmt: skip
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(names[0]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName([_alt_name(n) for n in names]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )
        files = CertFiles(self.directory / f"{stem}.pem", self.directory / f"{stem}.key")
        files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + self.pem.encode())
        files.key.write_bytes(_pem_key(key))
        files.key.chmod(0o600)
        return files


def trust_bundle(ca: CertificateAuthority, path: Path) -> Path:
    """A CA bundle with the system's roots plus ``ca``, for ``SSL_CERT_FILE``."""
    system = next((Path(p) for p in _SYSTEM_BUNDLES if Path(p).is_file()), None)
    text = system.read_text() if system is not None else ""
    path.write_text(text.rstrip("\n") + "\n" + ca.pem if text else ca.pem)
    return path
