"""Signed links to this instance: open pixel, click redirect and one-click unsubscribe.

A link carries what it is about (account, message, recipient, target URL, list) in its own
query, signed with a key derived from the instance secret: nothing is stored per message, and
a link whose data was changed, or which was made up, is refused. A click only ever redirects to
the URL that was signed into the link, so the redirect cannot be pointed anywhere else."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from sqlalchemy import select
from sqlmodel import col

from app import events
from app.models import Setting
from app.services import blocklists, signing
from app.services.context import Context
from app.services.errors import InvalidRequest, ServiceError

log = logging.getLogger(__name__)

OPEN_PATH = "/v1/track/open.gif"
CLICK_PATH = "/v1/track/click"
UNSUBSCRIBE_PATH = "/v1/unsubscribe"
KINDS = {"open": OPEN_PATH, "click": CLICK_PATH, "unsubscribe": UNSUBSCRIBE_PATH}
MAX_DATA = 8192
SETTING_KEYS = ("serviceUrl", "trackOpens", "trackClicks")


class BadLink(ServiceError):
    status, code = 403, "InvalidSignature"
    message = "This link is not valid: it was changed or not made by this instance"


class NoServiceUrl(InvalidRequest):
    code = "ServiceUrlRequired"
    message = "Tracking and unsubscribe links need the serviceUrl setting (or baseUrl in the request)"


@dataclass(frozen=True)
class Links:
    """Builds the signed links of one message (one recipient, for mail merge)."""

    ctx: Context
    base: str
    account: str
    message_id: str
    recipient: str | None = None

    def url(self, kind: str, **extra: Any) -> str:
        payload: dict[str, Any] = {"a": self.account, "m": self.message_id}
        if self.recipient:
            payload["r"] = self.recipient
        payload.update(extra)
        data, sig = signing.pack(self.ctx, kind, payload)
        query = urlencode({"d": data, "s": sig})
        return f"{self.base}{KINDS[kind]}?{query}"

    def open(self) -> str:
        return self.url("open")

    def click(self, target: str) -> str:
        return self.url("click", u=target)

    def unsubscribe(self, list_id: str) -> str:
        return self.url("unsubscribe", l=list_id)


def verify(ctx: Context, kind: str, data: str | None, signature: str | None) -> dict[str, Any]:
    """The link's payload, or :class:`BadLink`."""
    if not data or not signature or len(data) > MAX_DATA or len(signature) > 64:
        raise BadLink()
    if not signing.valid(ctx, kind, data, signature):
        raise BadLink()
    try:
        payload = signing.unpack(data)
    except ValueError:
        raise BadLink() from None
    if not isinstance(payload, dict) or not isinstance(payload.get("m"), str):
        raise BadLink()
    return payload


async def settings(ctx: Context) -> dict[str, Any]:
    """serviceUrl, trackOpens and trackClicks as stored, at most a second old (read on every
    submit; a settings change clears the cache)."""

    async def load() -> dict[str, Any]:
        async with ctx.db.core() as s:
            rows = await s.execute(select(Setting).where(col(Setting.key).in_(SETTING_KEYS)))
            return {row.key: row.value for row in rows.scalars()}

    found: dict[str, Any] = await ctx.webhook_settings.get_or_load("tracking", load)
    return found


def base_url(given: str | None, stored: Any) -> str:
    url = given or (stored if isinstance(stored, str) else None)
    if not url:
        raise NoServiceUrl(details={"serviceUrl": "not set"})
    return url.rstrip("/")


async def opened(ctx: Context, payload: dict[str, Any], remote: str | None, agent: str | None) -> None:
    await _record(ctx, "trackOpen", payload, {"remoteAddress": remote, "userAgent": agent})


async def clicked(ctx: Context, payload: dict[str, Any], remote: str | None, agent: str | None) -> str:
    """Records the click; returns the signed target URL to redirect to."""
    target = payload.get("u")
    if not isinstance(target, str) or urlsplit(target).scheme.lower() not in ("http", "https"):
        raise BadLink()
    await _record(ctx, "trackClick", payload, {"url": target, "remoteAddress": remote, "userAgent": agent})
    return target


async def unsubscribed(ctx: Context, payload: dict[str, Any], remote: str | None, agent: str | None) -> bool:
    list_id, recipient = payload.get("l"), payload.get("r")
    if not isinstance(list_id, str) or not isinstance(recipient, str):
        raise BadLink()
    return await blocklists.unsubscribe(
        ctx,
        account=payload.get("a"),
        list_id=list_id,
        recipient=recipient,
        message_id=payload.get("m"),
        remote_address=remote,
        user_agent=agent,
    )


async def _record(ctx: Context, kind: str, payload: dict[str, Any], extra: dict[str, Any]) -> None:
    data = {"messageId": payload["m"], "recipient": payload.get("r"), **extra}
    async with ctx.db.writer(express=True) as s:  # a pixel or a click is waiting
        await events.insert(s, kind, payload.get("a"), data)
        await s.commit()
    log.info("%s for %s", kind, payload["m"])
