"""pytest plugin: real Dovecot / SMTP sink / PostgreSQL / Redis servers on 127.0.0.1.

Enable with ``-p tests.servers.fixtures`` or ``pytest_plugins = ["tests.servers.fixtures"]``.
Servers are session-scoped and started lazily (only when a test asks for them); a missing
binary fails the test with the Debian package to install.

TLS: at start-up the plugin creates a test CA and points ``SSL_CERT_FILE`` at a bundle that
includes it, so this process and every process it spawns trust the test servers' certificates
(Dovecot offers STARTTLS and implicit TLS on ``tls_port``; the SMTP sink offers STARTTLS, and
``smtp_sink_tls`` speaks implicit TLS).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import pytest

from tests.servers.ca import WRONG_NAME, CertFiles, CertificateAuthority, trust_bundle
from tests.servers.cyrus import Cyrus
from tests.servers.dovecot import Dovecot
from tests.servers.idp import OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, OAuthProvider
from tests.servers.ports import MissingBinaryError
from tests.servers.postgres import Postgres
from tests.servers.redis import Redis
from tests.servers.smtp import SmtpSink

__all__ = [
    "DOVECOT_USERS",
    "ImapUser",
    "cyrus",
    "dovecot",
    "dovecot_oauth",
    "dovecot_reduced",
    "dovecot_user",
    "oauth_provider",
    "oauth_provider_server",
    "postgres_server",
    "redis_server",
    "smtp_sink",
    "smtp_sink_oauth",
    "smtp_sink_oauth_server",
    "smtp_sink_server",
    "smtp_sink_tls",
    "tls_material",
]

DOVECOT_USERS: dict[str, str] = {
    "alice@example.com": "alicepw",
    "bob@example.com": "bobpw",
}

T = TypeVar("T")


class _Server(Protocol):
    def start(self) -> None: ...


S = TypeVar("S", bound=_Server)


def _create(factory: Callable[[], T]) -> T:
    try:
        return factory()
    except MissingBinaryError as exc:
        pytest.fail(str(exc), pytrace=False)


def _running(factory: Callable[[], S], finish: Callable[[S], None]) -> Iterator[S]:
    """The body of a session fixture: ``finish`` (stop, or stop and delete) runs even when start fails."""
    server = _create(factory)
    try:
        server.start()
        yield server
    finally:
        finish(server)


@dataclass(frozen=True)
class TlsMaterial:
    """The session's certificates; ``ca`` is trusted through ``SSL_CERT_FILE``, ``private_ca`` by nobody."""

    ca: CertificateAuthority
    server: CertFiles  # 127.0.0.1 and localhost
    wrong_name: CertFiles  # only WRONG_NAME, from the trusted CA
    expired: CertFiles  # 127.0.0.1, expired yesterday
    private_ca: CertificateAuthority
    private_server: CertFiles  # 127.0.0.1, from the untrusted CA


_tls: TlsMaterial | None = None


def pytest_configure(config: pytest.Config) -> None:
    """Before any test imports an SSL context: OpenSSL reads ``SSL_CERT_FILE`` when a context loads
    the default trust store, and Mailgate caches its contexts."""
    global _tls
    directory = Path(tempfile.mkdtemp(prefix="mailgate-tls-"))
    directory.chmod(0o755)
    ca = CertificateAuthority(directory / "ca")
    private = CertificateAuthority(directory / "private", "Mailgate Private Test CA")
    _tls = TlsMaterial(
        ca=ca,
        server=ca.issue("server"),
        wrong_name=ca.issue("wrong-name", (WRONG_NAME,)),
        expired=ca.issue("expired", expired=True),
        private_ca=private,
        private_server=private.issue("server"),
    )
    os.environ["SSL_CERT_FILE"] = str(trust_bundle(ca, directory / "bundle.pem"))


def pytest_unconfigure(config: pytest.Config) -> None:
    if _tls is not None:
        shutil.rmtree(_tls.ca.directory.parent, ignore_errors=True)


@pytest.fixture(scope="session")
def tls_material() -> TlsMaterial:
    assert _tls is not None, "tests.servers.fixtures must be loaded as a plugin (-p)"
    return _tls


@dataclass(frozen=True)
class ImapUser:
    email: str
    password: str


@pytest.fixture(scope="session")
def dovecot(tmp_path_factory: pytest.TempPathFactory, tls_material: TlsMaterial) -> Iterator[Dovecot]:
    """Dovecot with alice@example.com/alicepw and bob@example.com/bobpw (shared mailboxes!);
    STARTTLS on ``port``, implicit TLS on ``tls_port``."""
    base = tmp_path_factory.mktemp("dovecot")
    yield from _running(
        lambda: Dovecot(base, DOVECOT_USERS, spare_users=200, tls=tls_material.server), Dovecot.cleanup
    )


#: What Exchange/Outlook and many hosted servers offer: IDLE, but no CONDSTORE, QRESYNC, NOTIFY,
#: SPECIAL-USE or ESEARCH.
REDUCED_CAPABILITY = (
    "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ UIDPLUS UNSELECT CHILDREN NAMESPACE"
)


@pytest.fixture(scope="session")
def dovecot_reduced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dovecot]:
    """A second Dovecot advertising only ``REDUCED_CAPABILITY``; use ``fresh_user()`` for accounts."""
    base = tmp_path_factory.mktemp("dovecot-reduced")
    yield from _running(
        lambda: Dovecot(base, spare_users=50, imap_capability=REDUCED_CAPABILITY), Dovecot.cleanup
    )


@pytest.fixture(scope="session")
def cyrus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cyrus]:
    """Cyrus IMAP (``.`` separator, folders under ``INBOX.``); ``fresh_user()`` makes accounts."""
    base = tmp_path_factory.mktemp("cyrus")
    yield from _running(lambda: Cyrus(base), Cyrus.cleanup)


@pytest.fixture
def dovecot_user(dovecot: Dovecot) -> ImapUser:
    """A fresh user with empty mailboxes, for tests that must not share alice's INBOX."""
    email, password = dovecot.fresh_user()
    return ImapUser(email, password)


def _reset_around(sink: SmtpSink) -> Iterator[SmtpSink]:
    """Session sinks are shared: each test starts and leaves them empty, in mode="accept"."""
    sink.reset()
    try:
        yield sink
    finally:
        sink.reset()


@pytest.fixture(scope="session")
def smtp_sink_server(tls_material: TlsMaterial) -> Iterator[SmtpSink]:
    """Session-wide sink offering STARTTLS; use the function-scoped ``smtp_sink`` in tests."""
    context = tls_material.server.server_context()
    yield from _running(lambda: SmtpSink(dict(DOVECOT_USERS), require_auth=False, tls=context), SmtpSink.stop)


@pytest.fixture
def smtp_sink(smtp_sink_server: SmtpSink) -> Iterator[SmtpSink]:
    """The session sink, reset (no messages, mode="accept", defaults) before and after."""
    yield from _reset_around(smtp_sink_server)


@pytest.fixture(scope="session")
def smtp_sink_tls_server(tls_material: TlsMaterial) -> Iterator[SmtpSink]:
    context = tls_material.server.server_context()
    yield from _running(lambda: SmtpSink(dict(DOVECOT_USERS), tls=context, implicit_tls=True), SmtpSink.stop)


@pytest.fixture
def smtp_sink_tls(smtp_sink_tls_server: SmtpSink) -> Iterator[SmtpSink]:
    """A sink speaking implicit TLS (like port 465), reset before and after."""
    yield from _reset_around(smtp_sink_tls_server)


@pytest.fixture(scope="session")
def oauth_provider_server() -> Iterator[OAuthProvider]:
    """The local OAuth2/OIDC provider with client ``OAUTH_CLIENT_ID``/``OAUTH_CLIENT_SECRET``;
    tests use the function-scoped ``oauth_provider``."""

    def create() -> OAuthProvider:
        provider = OAuthProvider()
        provider.add_client(OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET)
        return provider

    yield from _running(create, OAuthProvider.stop)


@pytest.fixture
def oauth_provider(oauth_provider_server: OAuthProvider) -> Iterator[OAuthProvider]:
    """The session provider with no tokens, grants, failures or holds (clients and users stay)."""
    oauth_provider_server.reset()
    try:
        yield oauth_provider_server
    finally:
        oauth_provider_server.reset()


@pytest.fixture(scope="session")
def dovecot_oauth(
    tmp_path_factory: pytest.TempPathFactory, oauth_provider_server: OAuthProvider
) -> Iterator[Dovecot]:
    """Dovecot taking XOAUTH2/OAUTHBEARER tokens of ``oauth_provider`` (RFC 7662 introspection) as
    well as passwords: ``fresh_user()`` gives (email, password); ``add_user`` + ``mint`` on the
    provider give that user a token."""
    base = tmp_path_factory.mktemp("dovecot-oauth")
    url = oauth_provider_server.introspection_url
    yield from _running(lambda: Dovecot(base, spare_users=50, oauth2_introspection_url=url), Dovecot.cleanup)


def _token_checker(provider: OAuthProvider) -> Callable[[str, str], bool]:
    def check(user: str, token: str) -> bool:
        answer = provider.introspect(token)
        return bool(answer["active"]) and answer["username"] == user

    return check


@pytest.fixture(scope="session")
def smtp_sink_oauth_server(oauth_provider_server: OAuthProvider) -> Iterator[SmtpSink]:
    checker = _token_checker(oauth_provider_server)
    yield from _running(lambda: SmtpSink(require_auth=True, xoauth2_check=checker), SmtpSink.stop)


@pytest.fixture
def smtp_sink_oauth(smtp_sink_oauth_server: SmtpSink) -> Iterator[SmtpSink]:
    """A sink requiring AUTH, whose XOAUTH2 takes a token only while ``oauth_provider`` says it is
    active and issued to the ``user=`` of the XOAUTH2 string; reset before and after."""
    yield from _reset_around(smtp_sink_oauth_server)


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    """A private PostgreSQL cluster; ``postgres_server.create_database(name)`` gives a URL."""
    logs = tmp_path_factory.mktemp("postgres")
    yield from _running(lambda: Postgres(logs), Postgres.stop)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    """A private redis-server; ``redis_server.url`` is ``redis://127.0.0.1:PORT/0``."""
    base = tmp_path_factory.mktemp("redis")
    yield from _running(lambda: Redis(base), Redis.stop)
