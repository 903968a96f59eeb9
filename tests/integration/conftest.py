"""A running Mailgate (service context + sync supervisor + HTTP client) against the test Dovecot."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import select
from sqlmodel import col

from app.mail.imap import ImapConnection
from app.main import create_app
from app.models import Event
from app.services import tokens
from app.services.context import Context
from app.services.principal import OPERATOR
from app.sync.supervisor import Supervisor
from tests.conftest import make_settings
from tests.servers.dovecot import Dovecot, append_messages
from tests.servers.fixtures import ImapUser
from tests.servers.idp import OAuthProvider


@dataclass
class Live:
    ctx: Context
    client: httpx2.AsyncClient
    headers: dict[str, str]
    supervisor: Supervisor
    dovecot: Dovecot
    accounts: list[str] = field(default_factory=list)

    def imap_settings(self, user: ImapUser, **overrides: Any) -> dict[str, Any]:
        """Implicit TLS (imaps), as most real accounts connect; the test CA is trusted through
        ``SSL_CERT_FILE`` (tests.servers.fixtures), so no ``tls`` options are needed."""
        return {
            "host": self.dovecot.host,
            "port": self.dovecot.tls_port,
            "secure": True,
            "auth": {"user": user.email, "pass": user.password},
        } | overrides

    async def register(self, user: ImapUser, account: str = "acc", **fields: Any) -> str:
        body = {
            "account": account,
            "name": "Test",
            "email": user.email,
            "imap": self.imap_settings(user),
        } | fields
        r = await self.client.post("/v1/account", json=body, headers=self.headers)
        assert r.status_code == 200, r.text
        return account

    async def get(self, url: str, **params: Any) -> Any:
        r = await self.client.get(url, params=params, headers=self.headers)
        assert r.status_code == 200, r.text
        return r.json()

    async def state(self, account: str) -> str:
        return str((await self.get(f"/v1/account/{account}"))["state"])

    async def wait_state(self, account: str, *states: str, timeout: float = 15.0) -> dict[str, Any]:
        info: dict[str, Any] = {}

        async def reached() -> bool:
            nonlocal info
            info = await self.get(f"/v1/account/{account}")
            return info["state"] in states

        await wait_until(reached, timeout, lambda: f"{account} never reached {states}: {info}")
        return info

    async def events(self, account: str, kind: str | None = None) -> list[Event]:
        query = select(Event).where(col(Event.account) == account).order_by(col(Event.id))
        if kind is not None:
            query = query.where(col(Event.type) == kind)
        async with self.ctx.db.core() as s:
            return list((await s.execute(query)).scalars())

    async def wait_event(self, account: str, kind: str, count: int = 1, timeout: float = 10.0) -> list[Event]:
        found: list[Event] = []

        async def enough() -> bool:
            nonlocal found
            found = await self.events(account, kind)
            return len(found) >= count

        await wait_until(enough, timeout, lambda: f"{kind} x{count} for {account}: only {len(found)}")
        return found


async def wait_until(
    check: Callable[[], Awaitable[bool]], timeout: float = 10.0, message: str | Callable[[], str] = ""
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if await check():
            return
        if time.monotonic() > deadline:
            pytest.fail(f"timed out: {message() if callable(message) else message}")
        await asyncio.sleep(0.05)


def make_message(
    subject: str = "Hello",
    body: str = "Hi there",
    sender: str = "Sender <s@example.org>",
    to: str = "Rcpt <r@example.com>",
    **headers: str,
) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain="example.org")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes()


async def seed(
    dovecot: Dovecot, user: ImapUser, mailbox: str, messages: list[bytes], flags: str | None = None
) -> list[int]:
    return await append_messages(
        dovecot.host, dovecot.port, user.email, user.password, mailbox, messages, flags
    )


@pytest.fixture
async def other_client(dovecot: Dovecot, dovecot_user: ImapUser) -> AsyncIterator[ImapConnection]:
    """A second, independent IMAP session of the same user: the "other mail client"."""
    conn = ImapConnection(
        {
            "host": dovecot.host,
            "port": dovecot.port,
            "auth": {"user": dovecot_user.email, "pass": dovecot_user.password},
        }
    )
    await conn.open()
    yield conn
    await conn.logout()


@pytest.fixture(params=["sqlite"])
async def live(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path, dovecot: Dovecot
) -> AsyncIterator[Live]:
    """SQLite by default; ``@pytest.mark.parametrize("live", ["postgres"], indirect=True)`` for PG."""
    async with running(request, tmp_path, sqlite_template, dovecot, request.param) as started:
        yield started


@asynccontextmanager
async def running(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path, dovecot: Dovecot, backend: str
) -> AsyncIterator[Live]:
    """A service context, sync supervisor and HTTP client on a fresh database of ``backend``."""
    if backend == "postgres":
        url = str(request.getfixturevalue("postgres_url"))
        from sqlalchemy import text

        from app.db import make_engine
        from tests.conftest import all_tables

        engine = make_engine(url)
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {all_tables()} RESTART IDENTITY CASCADE"))
        await engine.dispose()
    else:
        db = tmp_path / "mailgate.db"
        shutil.copyfile(sqlite_template, db)
        url = f"sqlite+aiosqlite:///{db}"
    settings = make_settings(
        tmp_path,
        url,
        poll_interval=1.0,
        reconnect_base=0.1,
        reconnect_cap=1.0,
        imap_timeout=10.0,
        lease_seconds=6.0,
    )
    ctx = Context.from_settings(settings)
    token, _ = await tokens.issue(ctx, OPERATOR, description="t", scopes=["*"], account=None)
    supervisor = Supervisor(ctx)
    await supervisor.start()
    app = create_app(ctx=ctx)
    client = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://mailgate.test")
    try:
        yield Live(ctx, client, {"Authorization": f"Bearer {token}"}, supervisor, dovecot)
    finally:
        await supervisor.stop()
        await client.aclose()
        await ctx.close()


@pytest.fixture
async def olive(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path, dovecot_oauth: Dovecot
) -> AsyncIterator[Live]:
    """A running Mailgate whose IMAP server takes the local OAuth2 provider's tokens."""
    async with running(request, tmp_path, sqlite_template, dovecot_oauth, "sqlite") as started:
        yield started


@pytest.fixture
def oauth_user(dovecot_oauth: Dovecot, oauth_provider: OAuthProvider) -> ImapUser:
    """A mailbox on ``dovecot_oauth`` that is also a user of the OAuth2 provider."""
    email, password = dovecot_oauth.fresh_user()
    oauth_provider.add_user(email, "Olivia Auth")
    return ImapUser(email, password)
