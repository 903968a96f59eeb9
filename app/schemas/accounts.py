"""Account shapes, following the Accounts API of the reference product."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from app.mail import tls
from app.models.account import AccountState
from app.schemas.common import Output, PageQuery, QueryInput, StrictInput, absent
from app.schemas.documented import (
    Counters,
    Headers,
    Imap,
    LastError,
    OAuth2,
    OutlookSubscription,
    Smtp,
    SmtpStatus,
    SyncError,
)

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
IGNORED = "Accepted, ignored: this instance has no such subsystem."
HeaderName = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[!-9;-~]+$")]
EhloName = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[!-~]+$")]


class CustomHeaderInput(StrictInput):
    key: HeaderName
    value: Annotated[str, Field(max_length=4096, pattern=r"^[\t\x20-\x7e]*$")] = ""  # sent as is: ASCII


class AuthInput(StrictInput):
    user: str | None = Field(default=None, max_length=320)
    pass_: Secret | None = Field(default=None, alias="pass")
    accessToken: Secret | None = None


def _pem_certificates(value: str) -> str:
    tls.check_ca(value)
    return value


class TlsInput(StrictInput):
    rejectUnauthorized: bool | None = Field(default=None, description="false skips certificate checks")
    minVersion: Literal["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"] | None = None
    servername: Host | None = Field(
        default=None, description="Name sent with SNI and checked against the certificate, if not host"
    )
    ca: Annotated[str, Field(max_length=65536), AfterValidator(_pem_certificates)] | None = Field(
        default=None, description="PEM certificates to trust instead of the system store (a private CA)"
    )


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
    useAuthServer: bool | None = Field(default=None, description=IGNORED)

    @model_validator(mode="after")
    def _complete_unless_partial(self) -> _ServerInput:
        if not self.partial and not self.disabled and self.host is None:
            raise ValueError("host is required (or set partial: true to change only some fields)")
        return self


class ImapInput(_ServerInput):
    disableIMAP4rev2: bool | None = Field(default=None, description=IGNORED)
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
    delegatedAccount: str | None = Field(default=None, max_length=256, description=IGNORED)


class OAuth2Input(StrictInput):
    partial: bool = False
    authorize: bool | None = Field(
        default=None, description="Answer {redirect}: a consent URL; the account is registered after consent"
    )
    redirectUrl: HttpUrl | None = Field(
        default=None, description="With authorize: where the browser goes after consent (?account=&state=)"
    )
    useAuthServer: bool | None = Field(default=None, description=IGNORED)
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
    expectedEmail: Email | None = Field(
        default=None,
        description="Refuse to connect unless the mailbox logged in to is this address "
        "(compared with the login user; a bare user name with the address's local part)",
    )
    smtpEhloName: EhloName | None = Field(default=None, description="Host name sent with EHLO")
    webhooksCustomHeaders: Annotated[list[CustomHeaderInput], Field(max_length=50)] | None = Field(
        default=None, description="Extra HTTP headers for this account's webhook requests"
    )
    proxy: Annotated[str, Field(max_length=2048)] | None = Field(default=None, description=IGNORED)
    logs: bool | None = Field(
        default=None, description="Keep a protocol log of IMAP/SMTP traffic (GET /v1/logs/{account})"
    )
    imapIndexer: Literal["full", "fast"] | None = Field(default=None, description=IGNORED)
    path: SyncPaths | None = Field(default=None, description="Folders to sync; '*' or omitted syncs all")
    subconnections: list[FolderPath] | None = Field(
        default=None,
        max_length=20,
        description="Folders besides INBOX that get IDLE on connections of their own",
    )
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
    """``null`` clears an optional field (EmailEngine's way); ``name`` is required, so null is a 400."""

    name: str | None = Field(default=None, min_length=1, max_length=256)
    imap: ImapInput | Literal[False] | None = None

    @field_validator("name", mode="before")
    @classmethod
    def _name_not_null(cls, value: Any) -> Any:
        if value is None:  # only an explicit null gets here: defaults are not validated
            raise ValueError("cannot be null: an account always has a name")
        return value


class AccountGetQuery(QueryInput):
    quota: bool = Field(default=False, description="Ask the IMAP server for the storage quota")


class AccountDeleteQuery(QueryInput):
    revoke: bool = Field(
        default=False,
        description="EmailEngine revokes the OAuth2 grant; here accepted and ignored. "
        "The account's access tokens are revoked either way.",
    )


class AccountListQuery(PageQuery):
    state: AccountState | None = None
    query: str | None = Field(default=None, max_length=256, description="Substring of id, name or email")


class RegisterResult(Output):
    account: str | None = Field(
        default=None, exclude_if=absent, description="Absent when answering with a consent redirect"
    )
    state: Literal["new", "existing"] | None = Field(default=None, exclude_if=absent)
    redirect: str | None = Field(
        default=None,
        exclude_if=absent,
        description="With oauth2.authorize: the provider's consent URL for the user's browser",
    )


class AccountSummary(Output):
    account: str
    name: str
    email: str | None
    state: AccountState
    type: Literal["imap", "oauth2", "sending"]
    syncTime: int | None = Field(description="Last completed sync, milliseconds since the epoch")
    lastError: LastError
    webhooks: str | None = None
    smtpEhloName: str | None = None
    counters: Counters = Field(default_factory=dict)
    proxy: str | None = Field(default=None, description=IGNORED)
    app: str | None = Field(default=None, description=IGNORED + " (no registered OAuth2 apps)")
    delegationError: str | None = Field(default=None, description=IGNORED)


class AccountList(Output):
    query: str | None = None
    state: str | None = None
    total: int
    page: int
    pages: int
    accounts: list[AccountSummary]


class Quota(Output):
    usage: int | None = Field(description="Bytes used")
    limit: int | None = Field(description="Bytes allowed")
    status: str | None = Field(description="Usage as a percentage, e.g. '42%'")


class AccountInfo(AccountSummary):
    notifyFrom: datetime
    webhooks: str | None
    path: list[str] | Literal["*"]
    subconnections: list[str]
    copy_: bool | None = Field(alias="copy")
    locale: str | None
    tz: str | None
    imap: Imap | Literal[False]
    smtp: Smtp | Literal[False]
    oauth2: OAuth2
    counters: Counters
    created: datetime
    expectedEmail: str | None = None
    webhooksCustomHeaders: Headers = Field(default_factory=list)
    sendOnly: bool = Field(default=False, description="IMAP is off: the account only sends")
    quota: Quota | None = Field(default=None, description="With ?quota=true, when the server has QUOTA")
    logs: bool | None = Field(default=None, description="Whether a protocol log is kept")
    imapIndexer: str | None = Field(default=None, description=IGNORED)
    connections: int | None = Field(default=None, description=IGNORED)
    smtpStatus: SmtpStatus = Field(default=None, description=IGNORED)
    syncError: SyncError = Field(default=None, description=IGNORED)
    baseScopes: str | None = Field(default=None, description=IGNORED)
    outlookSubscription: OutlookSubscription = Field(default=None, description=IGNORED)


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


class FlushInput(StrictInput):
    flush: bool = Field(default=False, description="Must be true for anything to happen")
    notifyFrom: datetime | None = Field(
        default=None, description="Announce messageNew again only for mail newer than this (default: now)"
    )
    imapIndexer: Literal["full", "fast"] | None = Field(default=None, description=IGNORED)


class FlushResult(Output):
    flush: bool


class VerifyInput(StrictInput):
    imap: ImapInput | None = None
    smtp: SmtpInput | None = None
    mailboxes: bool = Field(default=False, description="Also list the mailbox folders")
    proxy: Annotated[str, Field(max_length=2048)] | None = Field(default=None, description=IGNORED)
    smtpEhloName: EhloName | None = Field(default=None, description=IGNORED + " by the check")

    @model_validator(mode="after")
    def _something_to_check(self) -> VerifyInput:
        if self.imap is None and self.smtp is None:
            raise ValueError("give imap or smtp settings to verify")
        return self


class CheckResult(Output):
    success: bool
    error: str | None = None
    code: str | None = None
    statusCode: int | None = Field(default=None, description="The server's reply code, when it sent one")
    responseText: str | None = Field(default=None, description="The server's reply, when it sent one")


class VerifiedMailbox(Output):
    path: str
    delimiter: str | None
    name: str
    specialUse: str | None
    parentPath: str | None = None
    listed: bool | None = None
    subscribed: bool | None = None
    specialUseSource: Literal["user", "extension", "name"] | None = None
    noInferiors: bool | None = None


class VerifyResult(Output):
    imap: CheckResult | None = None
    smtp: CheckResult | None = None
    mailboxes: list[VerifiedMailbox] | None = None
