"""OAuth2 application shapes (EmailEngine's ``/v1/oauth2`` fields, plus a generic provider)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from app.schemas.accounts import HttpUrl
from app.schemas.common import Output, QueryInput, StrictInput
from app.schemas.documented import TokenRequestDoc

Provider = Literal["gmail", "gmailService", "outlook", "outlookService", "mailRu", "generic"]
Line = Annotated[str, Field(max_length=1024, pattern=r"^[^\r\n\x00]*$")]
Scope = Annotated[str, Field(min_length=1, max_length=512, pattern=r"^[!-~]+$")]
Scopes = Annotated[list[Scope], Field(max_length=50)]
SecretText = Annotated[str, Field(max_length=16384)]
AppId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
#: Settings stored in ``OAuthApp.options`` under their API names.
OPTION_FIELDS = (
    "title", "description", "baseScopes", "pubSubApp", "extraScopes", "skipScopes", "serviceClient",
    "googleProjectId", "googleWorkspaceAccounts", "googleTopicName", "googleSubscriptionName",
    "serviceClientEmail", "authMethod", "externalAccount", "authority", "cloud", "tenant", "redirectUrl",
    "includeInListing", "authorizationUrl", "tokenUrl", "userInfoUrl", "scopes", "imap", "smtp",
)  # fmt: skip


class MailServer(StrictInput):
    host: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[^\s/@]+$")]
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    secure: bool = Field(default=True, description="TLS from the start (993/465); else STARTTLS")


class _AppFields(StrictInput):
    description: Line | None = None
    title: Line | None = Field(default=None, description="Shown on the hosted form's provider button")
    enabled: bool | None = None
    clientSecret: SecretText | None = Field(
        default=None, description="Write-only: stored encrypted, shown back as '******'"
    )
    baseScopes: Literal["imap", "api", "pubsub"] | None = None
    pubSubApp: str | Literal[False] | None = None
    extraScopes: Scopes | None = None
    skipScopes: Scopes | None = None
    googleProjectId: str | Literal[False] | None = None
    googleWorkspaceAccounts: bool | None = None
    googleTopicName: str | Literal[False] | None = None
    googleSubscriptionName: str | Literal[False] | None = None
    serviceClientEmail: Line | None = None
    serviceKey: SecretText | None = Field(default=None, description="Write-only, stored encrypted")
    authority: Line | None = Field(
        default=None, description="Outlook: common, organizations, consumers or a tenant id"
    )
    cloud: Literal["global", "gcc-high", "dod", "china"] | None = None
    tenant: Line | None = None
    includeInListing: bool | None = Field(default=None, description="Offer it on the hosted form")
    authorizationUrl: HttpUrl | None = Field(default=None, description="generic: the consent endpoint")
    tokenUrl: HttpUrl | None = Field(default=None, description="generic: the token endpoint")
    userInfoUrl: HttpUrl | None = Field(
        default=None, description="generic: where the user's address is read (else the id_token)"
    )
    scopes: Scopes | None = Field(default=None, description="generic: the scopes to ask for")
    imap: MailServer | None = Field(default=None, description="generic: the IMAP server")
    smtp: MailServer | None = Field(default=None, description="generic: the SMTP server")


class OAuthAppCreate(_AppFields):
    name: Annotated[str, Field(min_length=1, max_length=256)]
    provider: Provider
    clientId: Line | None = None
    serviceClient: Line | None = None
    authMethod: Literal["serviceKey", "externalAccount"] | None = None
    externalAccount: Line | None = None
    redirectUrl: HttpUrl | None = Field(
        default=None, description="Registered at the provider; points at this instance's /oauth"
    )

    @model_validator(mode="after")
    def _complete(self) -> OAuthAppCreate:
        if self.provider in ("gmail", "outlook", "mailRu", "generic") and not self.clientId:
            raise ValueError(f"clientId is required for provider {self.provider}")
        if self.provider == "generic":
            missing = [n for n in ("authorizationUrl", "tokenUrl", "imap") if getattr(self, n) is None]
            if missing:
                raise ValueError("a generic provider needs " + ", ".join(missing))
        return self


class OAuthAppUpdate(_AppFields):
    """Fields not given stay as they are; ``false`` clears clientId, serviceClient and redirectUrl."""

    name: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    clientId: Line | Literal[False] | None = None
    serviceClient: Line | Literal[False] | None = None
    redirectUrl: HttpUrl | Literal[False] | None = None


class OAuthAppError(Output):
    response: Any = None
    description: str | None = None
    serverResponseCode: str | None = None
    tokenRequest: TokenRequestDoc | None = Field(default=None, description="The token request that failed")


class PubSubError(Output):
    message: str | None = None
    description: str | None = None


class OAuthAppInfo(Output):
    id: str
    name: str
    provider: str
    enabled: bool
    created: str
    updated: str
    clientId: str | None = None
    clientSecret: str | None = Field(default=None, description="'******' when set")
    serviceKey: str | None = Field(default=None, description="'******' when set")
    description: str | None = None
    title: str | None = None
    includeInListing: bool | None = None
    authority: str | None = None
    tenant: str | None = None
    cloud: str | None = None
    redirectUrl: str | None = None
    baseScopes: str | None = None
    extraScopes: list[str] | None = None
    skipScopes: list[str] | None = None
    serviceClient: str | None = None
    serviceClientEmail: str | None = None
    authMethod: str | None = None
    googleProjectId: str | Literal[False] | None = None
    googleWorkspaceAccounts: bool | None = None
    googleTopicName: str | Literal[False] | None = None
    googleSubscriptionName: str | Literal[False] | None = None
    pubSubApp: str | Literal[False] | None = None
    externalAccount: str | None = None
    accessToken: str | None = Field(default=None, description="Never returned: service tokens stay inside")
    pubSubTopic: str | None = None
    pubSubSubscription: str | None = None
    pubSubIamPolicy: bool | None = None
    pubSubError: PubSubError | None = None
    authorizationUrl: str | None = None
    tokenUrl: str | None = None
    userInfoUrl: str | None = None
    scopes: list[str] | None = Field(default=None, description="The scopes a consent asks for")
    imap: dict[str, Any] | None = Field(default=None, description="The IMAP server accounts use")
    smtp: dict[str, Any] | None = Field(default=None, description="The SMTP server accounts use")
    accounts: int | None = Field(default=None, description="Accounts registered through this app")
    lastError: OAuthAppError | None = None


class OAuthAppList(Output):
    total: int
    page: int
    pages: int
    apps: list[OAuthAppInfo]


class OAuthAppCreated(Output):
    id: str
    created: bool


class OAuthAppUpdated(Output):
    id: str
    updated: bool


class OAuthAppDeleted(Output):
    id: str
    deleted: bool
    accounts: int


class VerifyAppInput(StrictInput):
    account: Annotated[str, Field(max_length=256)] | None = Field(
        default=None, description="Also refresh this account's token"
    )
    testConnection: bool | None = Field(default=None, description="Also log in to the account's IMAP")


class VerifyStep(Output):
    id: str
    label: str
    status: Literal["ok", "fail", "skip"]
    message: str | None = None
    hint: str | None = None


class VerifyAppResult(Output):
    app: str
    provider: str
    authMethod: str | None = None
    account: str | None = None
    ok: bool
    steps: list[VerifyStep]


class OAuthTokenInfo(Output):
    account: str
    user: str
    accessToken: str
    provider: str
    app: str
    registeredScopes: list[str] | None = None
    expires: str | None = None
    cached: bool


class ConsentAnswer(QueryInput):
    """What an OAuth2 provider appends to the redirect URL (RFC 6749 §4.1.2)."""

    code: Annotated[str, Field(max_length=4096)] | None = None
    state: Annotated[str, Field(max_length=128)] | None = None
    error: Annotated[str, Field(max_length=256)] | None = None
    error_description: Annotated[str, Field(max_length=2048)] | None = None
    scope: Annotated[str, Field(max_length=4096)] | None = None
    session_state: Annotated[str, Field(max_length=1024)] | None = None
    iss: Annotated[str, Field(max_length=2048)] | None = None
    authuser: Annotated[str, Field(max_length=64)] | None = None
    prompt: Annotated[str, Field(max_length=64)] | None = None
    hd: Annotated[str, Field(max_length=256)] | None = None
