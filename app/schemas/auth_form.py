"""The hosted sign-up form: the link request (EmailEngine's fields) and what the page posts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from app.schemas.accounts import AccountId, Email, FolderPath, HttpUrl
from app.schemas.common import Output, StrictInput


class AuthFormInput(StrictInput):
    account: AccountId | None = Field(default=None, description="Account id; null generates one")
    name: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    email: Email | None = Field(default=None, description="Prefilled, and the login hint for providers")
    expectedEmail: Email | None = Field(default=None, description="Refuse a sign-in as anyone else")
    delegated: bool | None = Field(default=None, description="Accepted, ignored: no shared mailboxes")
    notifyFrom: datetime | None = None
    subconnections: list[FolderPath] | None = Field(default=None, max_length=20)
    path: list[FolderPath] | None = None
    redirectUrl: HttpUrl | None = Field(
        default=None, description="Where the browser goes when done (?account=&state=, or ?error=)"
    )
    type: Annotated[str, Field(min_length=1, max_length=64)] | Literal[False] | None = Field(
        default=None, description="Skip the choice: an OAuth2 application id, or 'imap' for the settings form"
    )


class AuthFormUrl(Output):
    url: str


Text = Annotated[str, Field(max_length=320, pattern=r"^[^\r\n\x00]*$")]


class ImapFormInput(StrictInput):
    """Posted by the settings form (``application/x-www-form-urlencoded``)."""

    email: Email
    name: Annotated[str, Field(max_length=256, pattern=r"^[^\r\n\x00]*$")] | None = None
    user: Text
    password: Annotated[str, Field(min_length=1, max_length=1024)]
    imap_host: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[^\s/@]+$")]
    imap_port: Annotated[int, Field(ge=1, le=65535)] = 993
    imap_secure: bool = False
    smtp_host: Annotated[str, Field(max_length=255, pattern=r"^[^\s/@]*$")] | None = None
    smtp_port: Annotated[int, Field(ge=1, le=65535)] = 465
    smtp_secure: bool = False
