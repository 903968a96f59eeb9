"""Access token shapes."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field

from app.schemas.accounts import AccountId
from app.schemas.common import Output, StrictInput

if TYPE_CHECKING:
    from app.models.token import Token

Scope = Literal["*", "api", "metrics", "smtp", "imap-proxy"]


def _default_scopes() -> list[Scope]:
    return ["api"]


class TokenCreate(StrictInput):
    account: AccountId = Field(description="Tokens made through the API are always bound to one account")
    description: str = Field(default="", max_length=1024)
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=5)] = Field(default_factory=_default_scopes)


class TokenCreated(Output):
    token: str


class TokenInfo(Output):
    id: str = Field(description="SHA-256 of the token; the token itself is never stored")
    account: str | None
    description: str
    scopes: list[str]
    created: datetime
    lastUsed: datetime | None
    ip: str | None

    @classmethod
    def from_row(cls, row: Token) -> TokenInfo:
        return cls(
            id=row.id,
            account=row.account,
            description=row.description,
            scopes=row.scopes,
            created=row.created,
            lastUsed=row.last_used,
            ip=row.last_ip,
        )


class TokenList(Output):
    tokens: list[TokenInfo]


class TokenDeleted(Output):
    deleted: bool
