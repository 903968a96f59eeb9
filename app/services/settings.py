"""Instance settings, stored as key → JSON rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from app.models import Event, Setting
from app.schemas.settings import SettingsOut, SettingsUpdate, SettingsUpdated
from app.services.context import Context
from app.services.credentials import MASK
from app.services.principal import Principal

DISABLED_URLS = "disabledWebhooks"
CURSOR = "webhooksCursor"  # the last event the dispatcher has turned into deliveries


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
    inbox_new_only: bool = False
    disabled_urls: frozenset[str] = field(default_factory=frozenset)

    def wants(self, event_type: str) -> bool:
        return self.events is None or event_type in self.events


async def current_event_id(session: Any) -> int:
    return int((await session.execute(select(func.max(col(Event.id))))).scalar() or 0)


async def _all(ctx: Context) -> dict[str, Any]:
    async with ctx.db.session() as s:
        return {row.key: row.value for row in (await s.exec(select(Setting))).all()}


async def load(ctx: Context, session: Any = None) -> WebhookSettings:
    """The settings the webhook machinery needs, secrets decrypted; read in ``session`` when given
    (so that they are consistent with what else that transaction reads)."""
    if session is None:
        raw = await _all(ctx)
    else:
        raw = {row.key: row.value for row in (await session.execute(select(Setting))).scalars()}
    events = raw.get("webhookEvents")
    secret = raw.get("serviceSecret")
    return WebhookSettings(
        enabled=bool(raw.get("webhooksEnabled", False)),
        url=raw.get("webhooks"),
        events=None if events in (None, "*") or "*" in events else frozenset(events),
        service_url=raw.get("serviceUrl"),
        secret=ctx.cipher.decrypt(secret) if secret else None,
        notify_text=bool(raw.get("notifyText", False)),
        notify_text_size=int(raw.get("notifyTextSize") or 0),
        notify_headers=tuple(raw.get("notifyHeaders") or ()),
        inbox_new_only=bool(raw.get("inboxNewOnly", False)),
        disabled_urls=frozenset(raw.get(DISABLED_URLS) or ()),
    )


async def get_settings(ctx: Context, principal: Principal) -> SettingsOut:
    principal.require_system()
    raw = await _all(ctx)
    return SettingsOut(
        webhooksEnabled=bool(raw.get("webhooksEnabled", False)),
        webhooks=raw.get("webhooks"),
        webhookEvents=raw.get("webhookEvents") or "*",
        serviceUrl=raw.get("serviceUrl"),
        serviceSecret=MASK if raw.get("serviceSecret") else None,
        notifyText=bool(raw.get("notifyText", False)),
        notifyTextSize=int(raw.get("notifyTextSize") or 0),
        notifyHeaders=list(raw.get("notifyHeaders") or []),
        inboxNewOnly=bool(raw.get("inboxNewOnly", False)),
        disabledWebhooks=list(raw.get(DISABLED_URLS) or []),
    )


async def update_settings(ctx: Context, principal: Principal, data: SettingsUpdate) -> SettingsUpdated:
    principal.require_system()
    values = data.model_dump(exclude_unset=True)
    if values.get("serviceSecret"):
        values["serviceSecret"] = ctx.cipher.encrypt(values["serviceSecret"])
    async with ctx.db.session() as s:
        for key, value in values.items():
            row = await s.get(Setting, key)
            if row is None:
                s.add(Setting(key=key, value=value))
            else:
                row.value = value
        if values.get("webhooksEnabled") and await s.get(Setting, CURSOR) is None:
            # Deliveries start with the events that follow this change, not with old history.
            latest = (await s.exec(select(func.max(col(Event.id))))).one()
            s.add(Setting(key=CURSOR, value=int(latest or 0)))
        if values.get("webhooks"):
            # Setting a URL again is how an operator re-enables one that answered 410 Gone.
            row = await s.get(Setting, DISABLED_URLS)
            if row is not None and values["webhooks"] in (row.value or []):
                row.value = [u for u in row.value if u != values["webhooks"]]
        await s.commit()
    ctx.webhook_settings.clear()
    return SettingsUpdated(updated=sorted(values))


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
