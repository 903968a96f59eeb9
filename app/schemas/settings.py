"""Instance settings: webhooks and notification options, plus every key EmailEngine clients send."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, create_model

from app.events import EVENT_TYPES
from app.schemas.accounts import CustomHeaderInput, HeaderName, HttpUrl
from app.schemas.common import Output, QueryInput, StrictInput
from app.schemas.documented import Headers, Logs

EventName = Literal[EVENT_TYPES]  # type: ignore[valid-type]
Locale = Literal["en", "et", "fr", "de", "pl", "ja", "nl"]
IGNORED = "Accepted, ignored: stored and returned, but this instance has no such subsystem."
#: Keys whose values are secrets of subsystems Mailgate lacks: accepted, never stored.
DISCARDED_SECRETS = ("openAiAPIKey", "smtpServerPassword", "imapProxyServerPassword")


class LogSettings(StrictInput):
    all: bool | None = None
    maxLogLines: Annotated[int, Field(ge=0, le=1_000_000)] | None = None


Strategy = Literal["default", "dedicated", "random"]
# Keys of EmailEngine subsystems Mailgate does not have (AI, document store, proxies, SMTP/IMAP
# servers, tracking, exports): accepted so that clients can send them, stored, otherwise ignored.
_IGNORED_KEYS: dict[str, Any] = {
    "notificationBaseUrl": str,
    "trackSentMessages": bool,
    "imapIndexer": Literal["full", "fast"],
    "resolveGmailCategories": bool,
    "generateEmailSummary": bool,
    "generateRiskAssessment": bool,
    "openAiAPIKey": str,
    "openAiModel": str,
    "openAiAPIUrl": str,
    "documentStoreChatModel": str,
    "openAiTemperature": float,
    "openAiTopP": float,
    "openAiMaxTokens": float,
    "openAiPrompt": str,
    "openAiGenerateEmbeddings": bool,
    "openAiPreProcessingFn": str,
    "authServer": str,
    "tokenAuditLog": bool,
    "proxyEnabled": bool,
    "proxyUrl": str,
    "httpProxyEnabled": bool,
    "httpProxyUrl": str,
    "mcpEnabled": bool,
    "mcpOAuthEnabled": bool,
    "logs": LogSettings,
    "sentryEnabled": bool,
    "sentryDsn": str,
    "imapStrategy": Strategy,
    "smtpStrategy": Strategy,
    "localAddresses": list[str],
    "smtpServerEnabled": bool,
    "smtpServerPort": int,
    "smtpServerHost": str,
    "smtpServerProxy": bool,
    "smtpServerAuthEnabled": bool,
    "smtpServerPassword": str,
    "smtpServerTLSEnabled": bool,
    "imapProxyServerEnabled": bool,
    "imapProxyServerPort": int,
    "imapProxyServerHost": str,
    "imapProxyServerProxy": bool,
    "imapProxyServerPassword": str,
    "imapProxyServerTLSEnabled": bool,
    "gmailSubscriptionTtl": int,
    "templateHeader": str,
    "templateHtmlHead": str,
    "scriptEnv": str,
    "enableApiProxy": bool,
    "imapClientName": str,
    "imapClientVersion": str,
    "imapClientVendor": str,
    "imapClientSupportUrl": str,
    "exportMaxConcurrent": int,
    "exportMaxGlobalConcurrent": int,
    "gmailExportBatchSize": int,
    "outlookExportBatchSize": int,
    "exportMaxMessages": int,
    "exportMaxSize": int,
}
#: Answered by GET only (EmailEngine reports whether these secrets are set).
_READ_ONLY_KEYS: dict[str, Any] = {"documentStorePassword": bool, "eventTypes": list[str]}


class SettingsUpdateBase(StrictInput):
    model_config = ConfigDict(extra="forbid", strict=True)  # "yes" is not a boolean here
    webhooksEnabled: bool | None = None
    webhooks: HttpUrl | None = Field(default=None, description="Where events are POSTed")
    webhookEvents: list[EventName | Literal["*"]] | Literal["*"] | None = Field(
        default=None, description="Which events to send; '*' (or a list containing it) for all"
    )
    webhooksCustomHeaders: Annotated[list[CustomHeaderInput], Field(max_length=50)] | None = Field(
        default=None, description="Extra HTTP headers sent with every webhook request"
    )
    serviceUrl: HttpUrl | None = Field(
        default=None, description="This instance's public URL, sent in payloads"
    )
    serviceSecret: Annotated[str, Field(min_length=1, max_length=1024)] | None = Field(
        default=None, description="Key for the webhook signatures (write-only)"
    )
    notifyText: bool | None = Field(default=None, description="Include message text in messageNew")
    notifyTextSize: Annotated[int, Field(ge=0, le=10 * 1024 * 1024)] | None = None
    notifyWebSafeHtml: bool | None = Field(
        default=None, description="With notifyText: HTML in messageNew is sanitized for display"
    )
    notifyHeaders: list[HeaderName] | None = Field(
        default=None, description="Headers to include in messageNew ('*' for all)"
    )
    notifyAttachments: bool | None = Field(
        default=None, description="Include attachment contents (base64) in messageNew"
    )
    notifyAttachmentSize: Annotated[int, Field(ge=0, le=50 * 1024 * 1024)] | None = Field(
        default=None, description="Largest attachment included by notifyAttachments, in bytes (0: any)"
    )
    notifyCalendarEvents: bool | None = Field(
        default=None, description="Include text/calendar parts in messageNew as calendarEvents"
    )
    inboxNewOnly: bool | None = Field(default=None, description="messageNew only for INBOX")
    deliveryAttempts: Annotated[int, Field(ge=1, le=100)] | None = Field(
        default=None, description="Delivery attempts for a submitted message that names none"
    )
    ignoreMailCertErrors: bool | None = Field(
        default=None, description="Accept invalid TLS certificates of mail servers"
    )
    smtpEhloName: Annotated[str, Field(max_length=255, pattern=r"^[!-~]*$")] | None = Field(
        default=None, description="Stored and returned; each account sets its EHLO name with smtpEhloName"
    )
    queueKeep: Annotated[int, Field(ge=0, le=1_000_000)] | None = Field(
        default=None, description="How many finished outbox entries to keep listed (stored)"
    )
    locale: Locale | None = Field(default=None, description="Interface language (stored)")
    timezone: Annotated[str, Field(max_length=64)] | None = Field(
        default=None, description="Interface time zone (stored)"
    )
    pageBrandName: Annotated[str, Field(max_length=256)] | None = Field(
        default=None, description="Name shown in page titles (stored)"
    )
    trackOpens: bool | None = Field(
        default=None, description="Add an open tracking pixel to sent HTML unless a submit says otherwise"
    )
    trackClicks: bool | None = Field(
        default=None, description="Route links in sent HTML through this instance unless a submit says not"
    )
    enableOAuthTokensApi: bool | None = Field(
        default=None, description="false switches off GET /v1/account/{account}/oauth-token (default on)"
    )


def _optional(kind: Any) -> Any:
    return (kind | None, Field(default=None, description=IGNORED))


SettingsUpdate: type[SettingsUpdateBase] = create_model(
    "SettingsUpdate",
    __base__=SettingsUpdateBase,
    **{name: _optional(kind) for name, kind in _IGNORED_KEYS.items()},
)
SETTINGS_KEYS: tuple[str, ...] = tuple(SettingsUpdate.model_fields)


class SettingsOutBase(Output):
    webhooksEnabled: bool
    webhooks: str | None
    webhookEvents: list[str] | Literal["*"]
    webhooksCustomHeaders: Headers
    serviceUrl: str | None
    serviceSecret: str | None = Field(description="'******' when set; the value is never returned")
    notifyText: bool
    notifyTextSize: int
    notifyWebSafeHtml: bool
    notifyHeaders: list[str]
    notifyAttachments: bool
    notifyAttachmentSize: int
    notifyCalendarEvents: bool
    inboxNewOnly: bool
    deliveryAttempts: int
    ignoreMailCertErrors: bool
    smtpEhloName: str | None = None
    queueKeep: int | None = None
    locale: str | None = None
    timezone: str | None = None
    pageBrandName: str | None = None
    trackOpens: bool | None = None
    trackClicks: bool | None = None
    enableOAuthTokensApi: bool | None = None
    disabledWebhooks: list[str] = Field(description="URLs switched off after answering 410 Gone")


def _out(name: str, kind: Any) -> Any:
    if name in DISCARDED_SECRETS:
        return (bool | None, Field(default=None, description=IGNORED + " Never stored; always false."))
    if name == "eventTypes":
        return (list[str] | None, Field(default=None, description="Every event name webhooks can carry"))
    if kind is LogSettings:
        return (Logs, Field(default=None, description=IGNORED))
    return (kind | None, Field(default=None, description=IGNORED))


SettingsOut: type[SettingsOutBase] = create_model(
    "SettingsOut",
    __base__=SettingsOutBase,
    **{name: _out(name, kind) for name, kind in {**_IGNORED_KEYS, **_READ_ONLY_KEYS}.items()},
)
_OUT_KEYS = tuple(name for name in SettingsOut.model_fields if name != "disabledWebhooks")

#: GET-only keys of EmailEngine's document store (not in this instance): accepted, ignored.
_QUERY_ONLY_KEYS = (
    "documentStoreEnabled",
    "documentStoreUrl",
    "documentStoreIndex",
    "documentStoreAuthEnabled",
    "documentStoreUsername",
    "documentStoreGenerateEmbeddings",
    "documentStorePreProcessingEnabled",
)

SettingsQuery: type[QueryInput] = create_model(  # type: ignore[call-overload]
    "SettingsQuery",
    __base__=QueryInput,
    **{
        name: (bool, Field(default=False, description="Include this key (no key asked: all keys)"))
        for name in _OUT_KEYS
    },
    **{name: (bool, Field(default=False, description=IGNORED)) for name in _QUERY_ONLY_KEYS},
)


class SettingsUpdated(Output):
    updated: list[str]
