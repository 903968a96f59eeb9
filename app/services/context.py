"""Everything a service call needs, built once per process and passed explicitly."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from app.config import Settings
from app.crypto import Cipher, load_secret
from app.db import Database
from app.mail.imap import open_session
from app.mail.mime import ParsedMessage
from app.mail.pool import CommandPool
from app.mail.session import SessionFactory
from app.mail.smtp_pool import SmtpPool
from app.models import Account, Mailbox
from app.runtime.coalesce import Coalesced
from app.services.cache import PageCache, SizedLRU, SourceCache, TTLCache
from app.services.principal import Principal
from app.services.states import Move, advance

SYNC_SLOTS = 16
LOGINS_PER_SERVER = 32


@dataclass
class Context:
    settings: Settings
    db: Database
    cipher: Cipher
    #: Opens every mail session of this process (the sync engine's and the command pool's), so
    #: a test can hand both an in-memory server (app.mail.memory) instead of IMAP.
    sessions: SessionFactory = open_session
    imap: CommandPool = field(init=False)
    #: Logged-in SMTP sessions kept between queued messages (see app.mail.smtp_pool).
    smtp: SmtpPool = field(default_factory=SmtpPool)
    # Hot-path caches; see app.services.cache for the consistency they promise.
    principals: TTLCache[str, Principal | None] = field(default_factory=lambda: TTLCache(ttl=1.0))
    accounts: TTLCache[str, Account | None] = field(default_factory=lambda: TTLCache(ttl=1.0))
    mailboxes: TTLCache[tuple[str, str], Mailbox | None] = field(default_factory=lambda: TTLCache(ttl=1.0))
    pages: PageCache = field(default_factory=PageCache)
    sources: SourceCache = field(default_factory=SourceCache)
    #: Parsed messages under the same keys as ``sources`` (their size counted as the source's):
    #: a message read again is not parsed again.
    parsed: SizedLRU[ParsedMessage] = field(default_factory=lambda: SizedLRU(32 << 20, 4 << 20))
    #: Single sections read instead of the whole source (a message's header, its decoded body
    #: texts), under the same keys plus what was read: see app.services.message_parts.
    parts: SizedLRU[object] = field(default_factory=lambda: SizedLRU(16 << 20, 4 << 20))
    webhook_settings: TTLCache[str, Any] = field(default_factory=lambda: TTLCache(ttl=1.0))
    #: Set when a webhook attempt finished, so the dispatcher can send that lane's next event.
    webhook_wake: asyncio.Event = field(default_factory=asyncio.Event)
    #: Set when a message was queued or an attempt finished, so the outbox dispatcher looks now.
    outbox_wake: asyncio.Event = field(default_factory=asyncio.Event)
    #: Accounts of this process doing their first pass over their folders at the same time. A
    #: thousand accounts starting at once would otherwise all wait on the database together and
    #: time out on its connection pool; in turns each is done sooner.
    sync_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(SYNC_SLOTS))
    #: Logins in flight per mail server (host, port) from this process's sync. A server takes
    #: only so many at once (Dovecot: a login process each; Gmail and Outlook throttle), and a
    #: thousand at once would see the slowest time out and retry after a backoff.
    login_slots: dict[tuple[str, int], asyncio.Semaphore] = field(default_factory=dict)
    #: State moves of this process's sync workers, written together when they come together
    #: (a thousand accounts starting at once make three each).
    state_moves: Coalesced[Move, bool] = field(init=False)
    _http: aiohttp.ClientSession | None = None

    def __post_init__(self) -> None:
        self.imap = CommandPool(self.sessions, timeout=self.settings.imap_timeout)
        self.state_moves = Coalesced(self.db, advance)

    def http(self) -> aiohttp.ClientSession:
        """One pooled HTTP client per process, for webhooks (aiohttp: about three times less
        overhead per request than httpx, which matters at hundreds of deliveries a second)."""
        if self._http is None or self._http.closed:
            connector = aiohttp.TCPConnector(limit=200, limit_per_host=50, ttl_dns_cache=30)
            self._http = aiohttp.ClientSession(connector=connector, trust_env=False)
        return self._http

    @classmethod
    def from_settings(cls, settings: Settings) -> Context:
        return cls(
            settings=settings,
            db=Database(settings.database_url),
            cipher=Cipher(load_secret(settings)),
        )

    def login_slot(self, settings: dict[str, Any]) -> asyncio.Semaphore:
        """The turn to wait for before logging in to the server ``settings`` name."""
        server = (str(settings.get("host") or "").lower(), int(settings.get("port") or 0))
        return self.login_slots.setdefault(server, asyncio.Semaphore(LOGINS_PER_SERVER))

    def index_changed(self, account: str, mailbox_id: int | None) -> None:
        """The index of a folder changed in this process: forget what was rendered from it."""
        self.pages.invalidate(mailbox_id)
        self.mailboxes.drop_where(account)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
        await self.imap.close()
        await self.smtp.close()
        await self.db.dispose()
