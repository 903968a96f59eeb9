"""The account: one mailbox, its connection settings and its connection state."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Field, SQLModel

from app.models.base import json_column, utcnow


class AccountState(StrEnum):
    """Connection states, as EmailEngine names them (see ``app.services.states`` for transitions)."""

    init = "init"
    connecting = "connecting"
    syncing = "syncing"
    connected = "connected"
    authentication_error = "authenticationError"
    connect_error = "connectError"
    disconnected = "disconnected"
    unset = "unset"


class Account(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=256)
    name: str = Field(max_length=256)
    email: str | None = Field(default=None, max_length=320)
    state: str = Field(default=AccountState.init, max_length=32, index=True)
    # Connection settings as JSON; secret leaves (pass, accessToken, refreshToken) are encrypted.
    # None means the protocol is switched off for this account (``imap: false``).
    imap: dict[str, Any] | None = Field(default=None, sa_column=json_column())
    smtp: dict[str, Any] | None = Field(default=None, sa_column=json_column())
    oauth2: dict[str, Any] | None = Field(default=None, sa_column=json_column())
    notify_from: datetime = Field(default_factory=utcnow)
    webhooks: str | None = Field(default=None, max_length=2048)
    path: list[str] | None = Field(default=None, sa_column=json_column())
    # Folders that get their own IDLE connection, besides INBOX.
    subconnections: list[str] | None = Field(default=None, sa_column=json_column())
    copy_sent: bool | None = Field(default=None)
    # EmailEngine account fields without a column of their own: expectedEmail, smtpEhloName,
    # webhooksCustomHeaders, and the accepted-but-ignored ones (proxy, logs, imapIndexer...).
    options: dict[str, Any] | None = Field(default=None, sa_column=json_column())
    locale: str | None = Field(default=None, max_length=32)
    tz: str | None = Field(default=None, max_length=64)
    sync_time: datetime | None = Field(default=None)
    last_error: dict[str, Any] | None = Field(default=None, sa_column=json_column())
    counters: dict[str, Any] | None = Field(default=None, sa_column=json_column())
    # Ownership lease: which process holds this account's connections, and until when.
    owner: str | None = Field(default=None, max_length=128)
    lease_expires: datetime | None = Field(default=None)
    created: datetime = Field(default_factory=utcnow)
    updated: datetime = Field(default_factory=utcnow)

    @property
    def has_imap(self) -> bool:
        """IMAP is configured and not switched off (``imap: false`` or ``imap.disabled``). An
        OAuth2 account gets its server from its application."""
        if self.oauth2 is not None and self.oauth2.get("enabled") is not False:
            return not (self.imap or {}).get("disabled")
        return self.imap is not None and not self.imap.get("disabled")

    @property
    def has_smtp(self) -> bool:
        """SMTP is configured, with a host, and not switched off: the account can send."""
        if self.oauth2 is not None and self.oauth2.get("enabled") is not False:
            return not (self.smtp or {}).get("disabled")
        return self.smtp is not None and not self.smtp.get("disabled") and bool(self.smtp.get("host"))
