"""Everything a service call needs, built once per process and passed explicitly."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.config import Settings
from app.crypto import Cipher, load_secret
from app.db import Database
from app.mail.pool import CommandPool
from app.services.control import AccountControl


@dataclass
class Context:
    settings: Settings
    db: Database
    cipher: Cipher
    control: AccountControl = field(default_factory=AccountControl)
    imap: CommandPool = field(default_factory=CommandPool)

    @classmethod
    def from_settings(cls, settings: Settings) -> Context:
        return cls(
            settings=settings,
            db=Database(settings.database_url),
            cipher=Cipher(load_secret(settings)),
            imap=CommandPool(timeout=settings.imap_timeout),
        )

    async def close(self) -> None:
        await self.imap.close()
        await self.db.dispose()
