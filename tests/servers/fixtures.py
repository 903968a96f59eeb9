"""pytest plugin: real Dovecot / SMTP sink / PostgreSQL / Redis servers on 127.0.0.1.

Enable with ``-p tests.servers.fixtures`` or ``pytest_plugins = ["tests.servers.fixtures"]``.
Servers are session-scoped and started lazily (only when a test asks for them); a missing
binary fails the test with the Debian package to install.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import pytest

from tests.servers.dovecot import Dovecot
from tests.servers.ports import MissingBinaryError
from tests.servers.postgres import Postgres
from tests.servers.redis import Redis
from tests.servers.smtp import SmtpSink

__all__ = [
    "DOVECOT_USERS",
    "ImapUser",
    "dovecot",
    "dovecot_user",
    "postgres_server",
    "redis_server",
    "smtp_sink",
    "smtp_sink_server",
]

DOVECOT_USERS: dict[str, str] = {
    "alice@example.com": "alicepw",
    "bob@example.com": "bobpw",
}

T = TypeVar("T")


def _create(factory: Callable[[], T]) -> T:
    try:
        return factory()
    except MissingBinaryError as exc:
        pytest.fail(str(exc), pytrace=False)


@dataclass(frozen=True)
class ImapUser:
    email: str
    password: str


@pytest.fixture(scope="session")
def dovecot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dovecot]:
    """Dovecot with alice@example.com/alicepw and bob@example.com/bobpw (shared mailboxes!)."""
    base = tmp_path_factory.mktemp("dovecot")
    server = _create(lambda: Dovecot(base, DOVECOT_USERS, spare_users=200))
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def dovecot_user(dovecot: Dovecot) -> ImapUser:
    """A fresh user with empty mailboxes, for tests that must not share alice's INBOX."""
    email, password = dovecot.fresh_user()
    return ImapUser(email, password)


@pytest.fixture(scope="session")
def smtp_sink_server() -> Iterator[SmtpSink]:
    """Session-wide sink; use the function-scoped ``smtp_sink`` in tests."""
    sink = _create(lambda: SmtpSink(dict(DOVECOT_USERS), require_auth=False))
    try:
        sink.start()
        yield sink
    finally:
        sink.stop()


@pytest.fixture
def smtp_sink(smtp_sink_server: SmtpSink) -> Iterator[SmtpSink]:
    """The session sink, reset (no messages, mode="accept", defaults) before and after."""
    smtp_sink_server.reset()
    try:
        yield smtp_sink_server
    finally:
        smtp_sink_server.reset()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    """A private PostgreSQL cluster; ``postgres_server.create_database(name)`` gives a URL."""
    logs = tmp_path_factory.mktemp("postgres")
    server = _create(lambda: Postgres(logs))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    """A private redis-server; ``redis_server.url`` is ``redis://127.0.0.1:PORT/0``."""
    base = tmp_path_factory.mktemp("redis")
    server = _create(lambda: Redis(base))
    try:
        server.start()
        yield server
    finally:
        server.stop()
