"""Free-form JSON objects with their fields documented.

Some response objects pass stored JSON through (connection settings, errors, outbox progress).
Their Python type stays ``dict`` (so GraphQL keeps them as JSON scalars), while the OpenAPI
document lists the fields EmailEngine defines for them, as these shapes do."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

NOT_SET = "Not set by this instance (no such subsystem); listed for compatibility."


class _Doc(BaseModel):
    model_config = ConfigDict(extra="allow")


def _inline(schema: Any, defs: dict[str, Any]) -> Any:
    if isinstance(schema, dict):
        if "$ref" in schema:
            return _inline(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
        return {k: _inline(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inline(v, defs) for v in schema]
    return schema


def schema_of(model: type[BaseModel], *, nullable: bool = False, many: bool = False) -> dict[str, Any]:
    """``model``'s JSON schema with references inlined, for ``WithJsonSchema`` on a plain dict."""
    schema = model.model_json_schema(mode="serialization")
    body: dict[str, Any] = _inline(schema, schema.get("$defs", {}))
    body.pop("title", None)
    if many:
        body = {"type": "array", "items": body}
    if nullable:
        body = {"anyOf": [body, {"type": "null"}]}
    return body


# -- accounts --------------------------------------------------------------------------------------
class AuthDoc(_Doc):
    user: str | None = None
    accessToken: str | None = Field(default=None, description="'******' when set")
    pass_: str | None = Field(default=None, alias="pass", description="'******' when set")


class TlsDoc(_Doc):
    rejectUnauthorized: bool | None = None
    minVersion: str | None = None
    servername: str | None = Field(default=None, description="Name sent with SNI and checked, if not host")
    ca: str | None = Field(default=None, description="PEM certificates trusted instead of the system store")


class SmtpDoc(_Doc):
    useAuthServer: bool | None = Field(default=None, description=NOT_SET)
    auth: AuthDoc | None = None
    host: str | None = None
    port: int | None = None
    secure: bool | None = None
    tls: TlsDoc | None = None


class ImapDoc(SmtpDoc):
    disableIMAP4rev2: bool | None = Field(default=None, description=NOT_SET)
    resyncDelay: int | None = None
    disabled: bool | None = None
    sentMailPath: str | None = None
    draftsMailPath: str | None = None
    junkMailPath: str | None = None
    trashMailPath: str | None = None
    archiveMailPath: str | None = None


class OAuth2AuthDoc(_Doc):
    user: str | None = None
    delegatedUser: str | None = None
    delegatedAccount: str | None = Field(default=None, description=NOT_SET)


class OAuth2Doc(_Doc):
    authorize: bool | None = Field(default=None, description=NOT_SET)
    redirectUrl: str | None = Field(default=None, description=NOT_SET)
    provider: str | None = None
    auth: OAuth2AuthDoc | None = None
    useAuthServer: bool | None = Field(default=None, description=NOT_SET)
    accessToken: str | None = Field(default=None, description="'******' when set")
    refreshToken: str | None = Field(default=None, description="'******' when set")
    expires: datetime | str | None = None
    scope: list[str] | None = None
    tokenType: str | None = None
    generated: datetime | str | None = None
    refreshTokenGenerated: datetime | str | None = None
    userFlag: dict[str, Any] | None = None


class FlagDoc(_Doc):
    message: str | None = None
    code: str | None = None
    url: str | None = None


class TokenRequestDoc(_Doc):
    url: str | None = None
    method: str | None = None
    grant: str | None = None
    provider: str | None = None
    status: int | None = None
    clientId: str | None = None
    clientSecret: str | None = None
    authority: str | None = None
    serviceClient: str | None = None
    signer: str | None = None
    googleProjectId: str | None = None
    serviceClientEmail: str | None = None
    code: str | None = None
    flag: FlagDoc | None = None
    userFlag: FlagDoc | None = None
    scopes: list[str] | None = None
    response: dict[str, Any] | None = None


class LastErrorDoc(_Doc):
    response: str | None = Field(default=None, description="What went wrong, as the server said it")
    description: str | None = None
    serverResponseCode: str | None = None
    code: str | None = None
    tokenRequest: TokenRequestDoc | None = Field(default=None, description=NOT_SET)


class SmtpStatusDoc(_Doc):
    created: datetime | None = None
    status: str | None = None
    response: str | None = None
    description: str | None = None
    responseCode: int | None = None
    code: str | None = None
    command: str | None = None
    networkRouting: dict[str, Any] | None = None


class SyncErrorDoc(_Doc):
    path: str | None = None
    time: datetime | None = None
    error: str | None = None


class SubscriptionStateDoc(_Doc):
    state: str | None = None
    time: float | None = None
    error: str | None = None
    retryCount: int | None = None
    createRetryCount: int | None = None


class OutlookSubscriptionDoc(_Doc):
    id: str | None = None
    expirationDateTime: datetime | None = None
    state: SubscriptionStateDoc | None = None


class CountersDoc(_Doc):
    events: dict[str, int] | None = Field(default=None, description="Events by type")


class HeaderDoc(_Doc):
    key: str
    value: str


# -- outbox ----------------------------------------------------------------------------------------
class EnvelopeDoc(_Doc):
    from_: str | None = Field(default=None, alias="from")
    to: list[str] | None = None


class ProgressErrorDoc(_Doc):
    message: str | None = None
    code: str | None = None
    statusCode: int | None = None
    networkRouting: dict[str, Any] | None = Field(default=None, description=NOT_SET)


class ProgressDoc(_Doc):
    status: str
    response: str | None = Field(default=None, description="The SMTP server's final reply")
    messageId: str | None = None
    originalMessageId: str | None = None
    error: ProgressErrorDoc | None = None


# -- tokens ----------------------------------------------------------------------------------------
class RateLimitDoc(_Doc):
    maxRequests: int | None = None
    timeWindow: int | None = None


class RestrictionsDoc(_Doc):
    referrers: list[str] | None = None
    addresses: list[str] | None = None
    rateLimit: RateLimitDoc | None = Field(default=None, description="Stored, not enforced")


class PermissionsDoc(_Doc):
    actions: list[str] | None = None
    groups: list[str] | None = None


# -- settings and stats ----------------------------------------------------------------------------
class LogsDoc(_Doc):
    all: bool | None = None
    maxLogLines: int | None = None


class RedisWarningDoc(_Doc):
    key: str | None = None
    color: str | None = None
    title: str | None = None
    details: list[str] | None = None


class ConnectionsDoc(_Doc):
    init: int = 0
    connected: int = 0
    connecting: int = 0
    syncing: int = 0
    authenticationError: int = 0
    connectError: int = 0
    unset: int = 0
    disconnected: int = 0
    paused: int = Field(default=0, description="No paused state here: always 0")
    unassigned: int = Field(default=0, description="Accounts no process holds (always 0 in one process)")


JSON = dict[str, Any]
Imap: TypeAlias = Annotated[JSON, WithJsonSchema(schema_of(ImapDoc))]
Smtp: TypeAlias = Annotated[JSON, WithJsonSchema(schema_of(SmtpDoc))]
OAuth2: TypeAlias = Annotated[JSON | None, WithJsonSchema(schema_of(OAuth2Doc, nullable=True))]
LastError: TypeAlias = Annotated[JSON | None, WithJsonSchema(schema_of(LastErrorDoc, nullable=True))]
SmtpStatus: TypeAlias = Annotated[JSON | None, WithJsonSchema(schema_of(SmtpStatusDoc, nullable=True))]
SyncError: TypeAlias = Annotated[JSON | None, WithJsonSchema(schema_of(SyncErrorDoc, nullable=True))]
OutlookSubscription: TypeAlias = Annotated[
    JSON | None, WithJsonSchema(schema_of(OutlookSubscriptionDoc, nullable=True))
]
Counters: TypeAlias = Annotated[JSON, WithJsonSchema(schema_of(CountersDoc))]
Headers: TypeAlias = Annotated[list[JSON], WithJsonSchema(schema_of(HeaderDoc, many=True))]
Envelope: TypeAlias = Annotated[JSON, WithJsonSchema(schema_of(EnvelopeDoc))]
Progress: TypeAlias = Annotated[JSON, WithJsonSchema(schema_of(ProgressDoc))]
Restrictions: TypeAlias = Annotated[JSON | None, WithJsonSchema(schema_of(RestrictionsDoc, nullable=True))]
Permissions: TypeAlias = Annotated[JSON | None, WithJsonSchema(schema_of(PermissionsDoc, nullable=True))]
Logs: TypeAlias = Annotated[JSON | None, WithJsonSchema(schema_of(LogsDoc, nullable=True))]
RedisWarnings: TypeAlias = Annotated[
    list[JSON] | None, WithJsonSchema(schema_of(RedisWarningDoc, many=True, nullable=True))
]
Connections: TypeAlias = Annotated[dict[str, int], WithJsonSchema(schema_of(ConnectionsDoc))]
