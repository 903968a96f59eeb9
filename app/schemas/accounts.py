"""Account shapes, following the Accounts API of the reference product."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from app.models.account import AccountState
from app.schemas.common import Output, PageQuery, StrictInput

ACCOUNT_ID_RE = re.compile(r"^[^\x00-\x1f\x7f/]{1,256}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")


def _account_id(value: str) -> str:
    if not ACCOUNT_ID_RE.match(value):
        raise ValueError("must be 1-256 characters without '/' or control characters")
    return value


def _email(value: str) -> str:
    if not EMAIL_RE.match(value):
        raise ValueError("is not an email address")
    return value


def _http_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/?#]+[^\s]*$", value, re.IGNORECASE):
        raise ValueError("must be an http:// or https:// URL")
    return value


AccountId = Annotated[str, AfterValidator(_account_id)]
Email = Annotated[str, Field(max_length=320), AfterValidator(_email)]
HttpUrl = Annotated[str, Field(max_length=2048), AfterValidator(_http_url)]
Host = Annotated[str, Field(min_length=1, max_length=255)]
Port = Annotated[int, Field(ge=1, le=65535)]
Secret = Annotated[str, Field(max_length=16384)]
FolderPath = Annotated[str, Field(min_length=1, max_length=1024)]


class AuthInput(StrictInput):
    user: str | None = Field(default=None, max_length=320)
    pass_: Secret | None = Field(default=None, alias="pass")
    accessToken: Secret | None = None


class TlsInput(StrictInput):
    rejectUnauthorized: bool | None = None
    minVersion: Literal["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"] | None = None


class _ServerInput(StrictInput):
    partial: bool = Field(
        default=False, description="Merge into the stored settings instead of replacing them"
    )
    host: Host | None = None
    port: Port | None = None
    secure: bool | None = None
    auth: AuthInput | None = None
    tls: TlsInput | None = None
    disabled: bool | None = None

    @model_validator(mode="after")
    def _complete_unless_partial(self) -> _ServerInput:
        if not self.partial and not self.disabled and self.host is None:
            raise ValueError("host is required (or set partial: true to change only some fields)")
        return self


class ImapInput(_ServerInput):
    resyncDelay: int | None = Field(default=None, ge=1, le=86400)
    sentMailPath: FolderPath | None = None
    draftsMailPath: FolderPath | None = None
    junkMailPath: FolderPath | None = None
    trashMailPath: FolderPath | None = None
    archiveMailPath: FolderPath | None = None


class SmtpInput(_ServerInput):
    pass


class OAuth2AuthInput(StrictInput):
    user: str = Field(min_length=1, max_length=320)
    delegatedUser: str | None = Field(default=None, max_length=320)


class OAuth2Input(StrictInput):
    partial: bool = False
    enabled: bool | None = None
    provider: str | None = Field(default=None, min_length=1, max_length=256)
    auth: OAuth2AuthInput | None = None
    accessToken: Secret | None = None
    refreshToken: Secret | None = None
    expires: datetime | None = None
    scopes: list[Annotated[str, Field(max_length=512)]] | None = None


SyncPaths = list[FolderPath] | Literal["*"]


class _AccountFields(StrictInput):
    email: Email | None = None
    smtp: SmtpInput | Literal[False] | None = None
    oauth2: OAuth2Input | None = None
    notifyFrom: datetime | None = Field(
        default=None, description="Send messageNew events only for newer mail"
    )
    webhooks: HttpUrl | None = Field(default=None, description="Per-account webhook URL")
    path: SyncPaths | None = Field(default=None, description="Folders to sync; '*' or omitted syncs all")
    copy_: bool | None = Field(
        default=None, alias="copy", description="Store a copy of sent mail in the Sent folder"
    )
    locale: str | None = Field(default=None, max_length=32)
    tz: str | None = Field(default=None, max_length=64)


class AccountCreate(_AccountFields):
    account: AccountId | None = Field(description="Account id; null generates one")
    name: str = Field(min_length=1, max_length=256)
    imap: ImapInput | Literal[False] | None = None

    @model_validator(mode="after")
    def _needs_a_source(self) -> AccountCreate:
        if self.imap is None and self.oauth2 is None:
            raise ValueError("either imap (settings or false) or oauth2 is required")
        return self


class AccountUpdate(_AccountFields):
    name: str | None = Field(default=None, min_length=1, max_length=256)
    imap: ImapInput | Literal[False] | None = None


class AccountListQuery(PageQuery):
    state: AccountState | None = None
    query: str | None = Field(default=None, max_length=256, description="Substring of id, name or email")


class RegisterResult(Output):
    account: str
    state: Literal["new", "existing"]


class AccountSummary(Output):
    account: str
    name: str
    email: str | None
    state: AccountState
    type: Literal["imap", "oauth2", "sending"]
    syncTime: int | None = Field(description="Last completed sync, milliseconds since the epoch")
    lastError: dict[str, Any] | None


class AccountList(Output):
    total: int
    page: int
    pages: int
    accounts: list[AccountSummary]


class AccountInfo(AccountSummary):
    notifyFrom: datetime
    webhooks: str | None
    path: list[str] | Literal["*"]
    copy_: bool | None = Field(alias="copy")
    locale: str | None
    tz: str | None
    imap: dict[str, Any] | Literal[False]
    smtp: dict[str, Any] | Literal[False]
    oauth2: dict[str, Any] | None
    counters: dict[str, Any]
    created: datetime


class AccountUpdated(Output):
    account: str


class AccountDeleted(Output):
    account: str
    deleted: bool


class ReconnectInput(StrictInput):
    reconnect: bool = True


class ReconnectResult(Output):
    reconnect: bool


class SyncInput(StrictInput):
    sync: bool = True


class SyncResult(Output):
    sync: bool


class VerifyInput(StrictInput):
    imap: ImapInput | None = None
    smtp: SmtpInput | None = None
    mailboxes: bool = Field(default=False, description="Also list the mailbox folders")

    @model_validator(mode="after")
    def _something_to_check(self) -> VerifyInput:
        if self.imap is None and self.smtp is None:
            raise ValueError("give imap or smtp settings to verify")
        return self


class CheckResult(Output):
    success: bool
    error: str | None = None
    code: str | None = None


class VerifiedMailbox(Output):
    path: str
    delimiter: str | None
    name: str
    specialUse: str | None


class VerifyResult(Output):
    imap: CheckResult | None = None
    smtp: CheckResult | None = None
    mailboxes: list[VerifiedMailbox] | None = None
