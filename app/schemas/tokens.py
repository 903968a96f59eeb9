"""Access token shapes."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, Field

from app.schemas import documented
from app.schemas.accounts import AccountId
from app.schemas.common import Output, PageQuery, StrictInput

if TYPE_CHECKING:
    from app.models.token import Token

Scope = Literal["*", "api", "metrics", "smtp", "imap-proxy", "mcp"]
IGNORED = "Accepted, ignored: stored and returned, not enforced."


def _default_scopes() -> list[Scope]:
    return ["api"]


def _network(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError("must be an IP address or a CIDR range") from None
    return value


Network = Annotated[str, Field(max_length=64), AfterValidator(_network)]
Referrer = Annotated[str, Field(min_length=1, max_length=1024)]


class RateLimit(StrictInput):
    maxRequests: Annotated[int, Field(ge=1)] | None = Field(default=None, description=IGNORED)
    timeWindow: Annotated[int, Field(ge=1)] | None = Field(default=None, description=IGNORED)


class Restrictions(StrictInput):
    addresses: Annotated[list[Network], Field(max_length=100)] | None = Field(
        default=None, description="Only requests from these IP addresses or CIDR ranges are allowed"
    )
    referrers: Annotated[list[Referrer], Field(max_length=100)] | None = Field(
        default=None,
        description="Only requests whose Referer matches one of these patterns (* matches anything)",
    )
    rateLimit: RateLimit | None = Field(default=None, description=IGNORED)


class Permissions(StrictInput):
    actions: list[Literal["read", "write", "send", "destructive"]] | None = Field(
        default=None, description=IGNORED + " Scopes and account binding decide access."
    )
    groups: (
        list[
            Literal[
                "account",
                "mailbox",
                "message",
                "submit",
                "outbox",
                "export",
                "template",
                "blocklist",
                "webhook",
                "gateway",
                "events",
                "diagnostics",
                "logs",
            ]
        ]
        | None
    ) = Field(default=None, description=IGNORED)


class TokenCreate(StrictInput):
    account: AccountId = Field(description="Tokens made through the API are always bound to one account")
    description: str = Field(default="", max_length=1024)
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=6)] = Field(default_factory=_default_scopes)
    metadata: str | None = Field(default=None, max_length=16384, description="Opaque; returned as given")
    restrictions: Restrictions | None = None
    permissions: Permissions | None = None
    expires: datetime | None = Field(default=None, description="The token is refused from this time on")
    ip: Annotated[str, Field(max_length=64)] | None = Field(
        default=None, description="Address of the person the token is made for; returned as given"
    )


class TokenCreated(Output):
    token: str
    id: str | None = Field(
        default=None, description="The token's id (its SHA-256), for the other token routes"
    )


class TokenAccess(Output):
    time: datetime | None
    ip: str | None


class TokenInfo(Output):
    id: str = Field(description="SHA-256 of the token; the token itself is never stored")
    account: str | None
    description: str
    scopes: list[str]
    created: datetime
    lastUsed: datetime | None
    ip: str | None = Field(description="The address given at creation, else the one last used from")
    metadata: str | None = None
    remoteAddress: str | None = Field(default=None, description="Address the token was created from")
    restrictions: documented.Restrictions = None
    permissions: documented.Permissions = Field(default=None, description=IGNORED)
    expires: datetime | None = None
    access: TokenAccess = Field(description="When and from where the token was last used")

    @classmethod
    def from_row(cls, row: Token) -> TokenInfo:
        details = row.details or {}
        return cls(
            id=row.id,
            account=row.account,
            description=row.description,
            scopes=row.scopes,
            created=row.created,
            lastUsed=row.last_used,
            ip=details.get("ip") or row.last_ip,
            metadata=details.get("metadata"),
            remoteAddress=details.get("remoteAddress"),
            restrictions=row.restrictions,
            permissions=details.get("permissions"),
            expires=row.expires,
            access=TokenAccess(time=row.last_used, ip=row.last_ip),
        )


class TokenListQuery(PageQuery):
    account: str | None = Field(default=None, max_length=256, description="Only this account's tokens")
    query: str | None = Field(default=None, max_length=256, description="Substring of the description")


class TokenList(Output):
    account: str | None = None
    total: int
    page: int
    pages: int
    tokens: list[TokenInfo]


class TokenDeleted(Output):
    deleted: bool


class TokenLogQuery(PageQuery):
    pass


class TokenLogEntry(Output):
    time: datetime
    ip: str | None
    method: str | None = None
    path: str | None = None
    action: str | None = None
    group: str | None = None
    account: str | None = None
    status: Literal["allowed", "denied"]
    reason: str | None = None


class TokenLog(Output):
    token: str
    total: int
    page: int
    pages: int
    entries: list[TokenLogEntry] = Field(description="Newest first; the most recent uses only")
