"""Instance settings, stored as key → JSON rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select

from app.events import EVENT_TYPES
from app.mail import tls
from app.models import Event, Setting
from app.schemas.settings import (
    DISCARDED_SECRETS,
    SettingsOut,
    SettingsUpdateBase,
    SettingsUpdated,
)
from app.services import webhook_egress as egress
from app.services.context import Context
from app.services.credentials import MASK
from app.services.errors import InvalidRequest
from app.services.principal import Principal

DISABLED_URLS = "disabledWebhooks"
CURSOR = "webhooksCursor"  # the last event the dispatcher has turned into deliveries
DEFAULT_DELIVERY_ATTEMPTS = 10
DEFAULT_ATTACHMENT_SIZE = 2 * 1024 * 1024


@dataclass(frozen=True)
class WebhookSettings:
    enabled: bool = False
    url: str | None = None
    events: frozenset[str] | None = None  # None = all
    service_url: str | None = None
    secret: str | None = None
    notify_text: bool = False
    notify_text_size: int = 0
    notify_headers: tuple[str, ...] = ()
    notify_web_safe_html: bool = False
    notify_attachments: bool = False
    notify_attachment_size: int = DEFAULT_ATTACHMENT_SIZE
    notify_calendar_events: bool = False
    inbox_new_only: bool = False
    custom_headers: tuple[tuple[str, str], ...] = ()
    delivery_attempts: int = DEFAULT_DELIVERY_ATTEMPTS
    disabled_urls: frozenset[str] = field(default_factory=frozenset)

    def wants(self, event_type: str) -> bool:
        return self.events is None or event_type in self.events


def store_cursor(dialect: str, value: int, *, replace: bool) -> Any:
    """INSERT of the webhook cursor that cannot collide: the settings write and a dispatcher
    (perhaps in another process) may both find it missing and store it at the same moment.
    ``replace``: a value already there is overwritten (the dispatcher's, which has just handed
    out everything up to ``value``); else it is kept (enabling webhooks again changes nothing)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(Setting).values(key=CURSOR, value=value)
    if replace:
        newest = {"value": statement.excluded.value}
        return statement.on_conflict_do_update(index_elements=["key"], set_=newest)
    return statement.on_conflict_do_nothing(index_elements=["key"])


async def current_event_id(session: Any) -> int:
    return int((await session.execute(select(func.max(col(Event.id))))).scalar() or 0)


async def _all(ctx: Context) -> dict[str, Any]:
    async with ctx.db.session() as s:
        return {row.key: row.value for row in (await s.exec(select(Setting))).all()}


async def stored(ctx: Context) -> dict[str, Any]:
    """Every stored key with its raw value."""
    return await _all(ctx)


async def ignore_mail_cert_errors(ctx: Context) -> bool:
    async with ctx.db.session() as s:
        row = await s.get(Setting, "ignoreMailCertErrors")
    return bool(row is not None and row.value)


def use_for_mail(ctx: Context) -> None:
    """Let this process's IMAP and SMTP connections follow ``ignoreMailCertErrors`` as stored.

    Called once when a process starts (``serve`` and ``worker``) and when the setting is written
    here; not on every read, so that one context stays the source for the process."""
    tls.policy.install(ctx, lambda: ignore_mail_cert_errors(ctx))


async def load(ctx: Context, session: Any = None) -> WebhookSettings:
    """The settings the webhook machinery needs, secrets decrypted; read in ``session`` when given
    (so that they are consistent with what else that transaction reads)."""
    if session is None:
        raw = await _all(ctx)
    else:
        raw = {row.key: row.value for row in (await session.execute(select(Setting))).scalars()}
    events = raw.get("webhookEvents")
    secret = raw.get("serviceSecret")
    size = raw.get("notifyAttachmentSize")
    return WebhookSettings(
        enabled=bool(raw.get("webhooksEnabled", False)),
        url=raw.get("webhooks"),
        events=None if events in (None, "*") or "*" in events else frozenset(events),
        service_url=raw.get("serviceUrl"),
        secret=ctx.cipher.decrypt(secret) if secret else None,
        notify_text=bool(raw.get("notifyText", False)),
        notify_text_size=int(raw.get("notifyTextSize") or 0),
        notify_headers=tuple(raw.get("notifyHeaders") or ()),
        notify_web_safe_html=bool(raw.get("notifyWebSafeHtml", False)),
        notify_attachments=bool(raw.get("notifyAttachments", False)),
        notify_attachment_size=DEFAULT_ATTACHMENT_SIZE if size is None else int(size),
        notify_calendar_events=bool(raw.get("notifyCalendarEvents", False)),
        inbox_new_only=bool(raw.get("inboxNewOnly", False)),
        custom_headers=headers_of(raw.get("webhooksCustomHeaders")),
        delivery_attempts=int(raw.get("deliveryAttempts") or DEFAULT_DELIVERY_ATTEMPTS),
        disabled_urls=frozenset(raw.get(DISABLED_URLS) or ()),
    )


def headers_of(value: Any) -> tuple[tuple[str, str], ...]:
    """Stored ``[{key, value}]`` headers as pairs (an account's list or the global one)."""
    return tuple((str(h["key"]), str(h.get("value", ""))) for h in value or () if h.get("key"))


def _output(raw: dict[str, Any]) -> SettingsOut:
    known = {
        "webhooksEnabled": bool(raw.get("webhooksEnabled", False)),
        "webhooks": raw.get("webhooks"),
        "webhookEvents": raw.get("webhookEvents") or "*",
        "webhooksCustomHeaders": list(raw.get("webhooksCustomHeaders") or []),
        "serviceUrl": raw.get("serviceUrl"),
        "serviceSecret": MASK if raw.get("serviceSecret") else None,
        "notifyText": bool(raw.get("notifyText", False)),
        "notifyTextSize": int(raw.get("notifyTextSize") or 0),
        "notifyWebSafeHtml": bool(raw.get("notifyWebSafeHtml", False)),
        "notifyHeaders": list(raw.get("notifyHeaders") or []),
        "notifyAttachments": bool(raw.get("notifyAttachments", False)),
        "notifyAttachmentSize": int(raw.get("notifyAttachmentSize", DEFAULT_ATTACHMENT_SIZE)),
        "notifyCalendarEvents": bool(raw.get("notifyCalendarEvents", False)),
        "inboxNewOnly": bool(raw.get("inboxNewOnly", False)),
        "deliveryAttempts": int(raw.get("deliveryAttempts") or DEFAULT_DELIVERY_ATTEMPTS),
        "ignoreMailCertErrors": bool(raw.get("ignoreMailCertErrors", False)),
        "disabledWebhooks": list(raw.get(DISABLED_URLS) or []),
        "eventTypes": list(EVENT_TYPES),
        "documentStorePassword": False,
        **{key: False for key in DISCARDED_SECRETS},
    }
    stored = {k: v for k, v in raw.items() if k in SettingsOut.model_fields and k not in known}
    return SettingsOut.model_validate({**stored, **known})


async def get_settings(ctx: Context, principal: Principal) -> SettingsOut:
    principal.require_system()
    return _output(await _all(ctx))


def selected_keys(query: Any) -> set[str] | None:
    """EmailEngine's ``GET /v1/settings?key=true``: only the keys asked for, or all when none is."""
    wanted = {name for name, value in query.model_dump().items() if value is True}
    return wanted or None


async def delivery_attempts(ctx: Context) -> int:
    """Attempts for a submitted message that names none (read through the settings cache)."""
    return (await cached(ctx)).delivery_attempts


async def check_webhook_url(ctx: Context, url: str) -> None:
    """Refused when set, with the rules deliveries follow, instead of failing every delivery later."""
    try:
        await egress.check_configured(url, ctx.settings.webhook_allow_link_local)
    except egress.EgressRefused as exc:
        raise InvalidRequest("Webhook URL not allowed", details={"webhooks": str(exc)}) from None


async def update_settings(ctx: Context, principal: Principal, data: SettingsUpdateBase) -> SettingsUpdated:
    principal.require_system()
    values = data.model_dump(exclude_unset=True)
    if values.get("webhooks"):
        await check_webhook_url(ctx, values["webhooks"])
    updated = sorted(values)
    for key in DISCARDED_SECRETS:  # secrets of subsystems this instance lacks: not kept
        values.pop(key, None)
    if isinstance(values.get("webhookEvents"), list) and "*" in values["webhookEvents"]:
        values["webhookEvents"] = "*"
    if values.get("serviceSecret"):
        values["serviceSecret"] = ctx.cipher.encrypt(values["serviceSecret"])
    async with ctx.db.session() as s:
        was_enabled = await s.get(Setting, "webhooksEnabled")
        enabling = bool(values.get("webhooksEnabled")) and not (was_enabled and was_enabled.value)
        for key, value in values.items():
            row = await s.get(Setting, key)
            if row is None:
                s.add(Setting(key=key, value=value))
            else:
                row.value = value
        if enabling or (values.get("webhooksEnabled") and await s.get(Setting, CURSOR) is None):
            # Deliveries start with the events that follow this change, not with old history nor
            # with what happened while they were off (the dispatcher does not read events then).
            latest = (await s.exec(select(func.max(col(Event.id))))).one()
            dialect = ctx.db.engine.dialect.name
            await s.exec(store_cursor(dialect, int(latest or 0), replace=enabling))
        if values.get("webhooks"):
            # Setting a URL again is how an operator re-enables one that answered 410 Gone.
            row = await s.get(Setting, DISABLED_URLS)
            if row is not None and values["webhooks"] in (row.value or []):
                row.value = [u for u in row.value if u != values["webhooks"]]
        await s.commit()
    ctx.webhook_settings.clear()
    use_for_mail(ctx)
    if "ignoreMailCertErrors" in values:
        tls.policy.set(bool(values["ignoreMailCertErrors"]))
    return SettingsUpdated(updated=updated)


async def disable_url(ctx: Context, url: str) -> None:
    """A receiver answered 410 Gone: stop sending to it."""
    async with ctx.db.session() as s:
        row = await s.get(Setting, DISABLED_URLS)
        if row is None:
            s.add(Setting(key=DISABLED_URLS, value=[url]))
        elif url not in (row.value or []):
            row.value = [*(row.value or []), url]
        await s.commit()
    ctx.webhook_settings.clear()


async def cached(ctx: Context) -> WebhookSettings:
    """Settings at most a second old: read on every event, changed rarely."""
    found: WebhookSettings = await ctx.webhook_settings.get_or_load("webhooks", lambda: load(ctx))
    return found
