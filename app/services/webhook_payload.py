"""The JSON envelope every consumer of the change log receives (webhooks and /v1/changes)."""

from __future__ import annotations

import base64
import logging
from typing import Any

import nh3
from pydantic_core import to_json

from app.mail import ids, mime
from app.models import Event
from app.schemas.messages import MessageDetails, MessageGetQuery
from app.services import messages
from app.services.context import Context
from app.services.errors import ServiceError
from app.services.principal import OPERATOR
from app.services.settings import WebhookSettings

log = logging.getLogger(__name__)
CALENDAR = "text/calendar"


def envelope(event: Event, service_url: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"serviceUrl": service_url, "account": event.account}
    out["date"] = event.created.isoformat().replace("+00:00", "Z")
    if event.path is not None:
        out["path"] = event.path
    special = event.payload.get("specialUse") if isinstance(event.payload, dict) else None
    if special:
        out["specialUse"] = special
    out["event"] = event.type
    out["data"] = event.payload
    return out


def _wants_details(settings: WebhookSettings) -> bool:
    return bool(
        settings.notify_text
        or settings.notify_headers
        or settings.notify_attachments
        or settings.notify_calendar_events
    )


async def render(ctx: Context, event: Event, settings: WebhookSettings) -> bytes:
    """The body of a delivery: rendered once, then the same bytes on every retry."""
    body = envelope(event, settings.service_url)
    wanted = _wants_details(settings)
    if event.type == "messageNew" and wanted and event.account and isinstance(event.payload, dict):
        body["data"] = await _enrich(ctx, event, dict(event.payload), settings)
    return to_json(body)


async def _enrich(
    ctx: Context, event: Event, data: dict[str, Any], settings: WebhookSettings
) -> dict[str, Any]:
    """messageNew with what the notify* settings ask for; what cannot be fetched is left out."""
    assert event.account is not None
    message_id = str(data.get("id"))
    try:
        query = MessageGetQuery(
            textType="*" if settings.notify_text else None,
            maxBytes=max(1, settings.notify_text_size or 1024 * 1024),
        )
        details = await messages.get_message(ctx, OPERATOR, event.account, message_id, query)
        source = b""
        if settings.notify_attachments or settings.notify_calendar_events:
            source = await messages.get_source(ctx, OPERATOR, event.account, message_id)
    except ServiceError as exc:  # gone already, or the account is offline: send what we have
        log.info("event %s: no details for messageNew (%s)", event.id, exc.code)
        return data
    if settings.notify_text and details.text is not None:
        text = details.text.model_dump(by_alias=True)
        if settings.notify_web_safe_html and text.get("html"):
            # Sanitized for showing in a browser: no scripts, handlers or remote-loading tricks.
            text["html"] = nh3.clean(text["html"])
            text["webSafe"] = True
        data["text"] = text
    if settings.notify_headers:
        names = {h.lower() for h in settings.notify_headers}
        everything = "*" in names
        data["headers"] = {k: v for k, v in details.headers.items() if everything or k in names}
    if source:
        _attachments(data, details, source, settings)
    return data


def _attachments(
    data: dict[str, Any], details: MessageDetails, source: bytes, settings: WebhookSettings
) -> None:
    """Attachment contents (base64) up to the size limit, and calendar parts as ``calendarEvents``."""
    listed: list[dict[str, Any]] = []
    calendar: list[dict[str, Any]] = []
    limit = settings.notify_attachment_size
    for attachment in details.attachments or []:
        item = attachment.model_dump(by_alias=True)
        is_calendar = attachment.contentType.lower() == CALENDAR
        fits = not limit or (attachment.encodedSize or 0) <= limit
        if (settings.notify_attachments and fits) or (settings.notify_calendar_events and is_calendar):
            try:
                _, part = ids.parse_attachment_id(attachment.id)
                found = mime.part_bytes(source, part)
            except ids.BadId:
                found = None
            if found is not None:
                content = found[0]
                if settings.notify_attachments and fits:
                    item["content"] = base64.b64encode(content).decode()
                if settings.notify_calendar_events and is_calendar:
                    calendar.append(
                        {
                            "contentType": attachment.contentType,
                            "filename": attachment.filename,
                            "method": attachment.method,
                            "content": content.decode("utf-8", "replace"),
                        }
                    )
        listed.append(item)
    if settings.notify_attachments:
        data["attachments"] = listed
    if settings.notify_calendar_events:
        data["calendarEvents"] = calendar
