"""The JSON envelope every consumer of the change log receives (webhooks and /v1/changes)."""

from __future__ import annotations

import logging
from typing import Any

from pydantic_core import to_json

from app.models import Event
from app.schemas.messages import MessageGetQuery
from app.services import messages
from app.services.context import Context
from app.services.errors import ServiceError
from app.services.principal import OPERATOR
from app.services.settings import WebhookSettings

log = logging.getLogger(__name__)


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


async def render(ctx: Context, event: Event, settings: WebhookSettings) -> bytes:
    """The body of a delivery: rendered once, then the same bytes on every retry."""
    body = envelope(event, settings.service_url)
    wants_text = settings.notify_text or settings.notify_headers
    if event.type == "messageNew" and wants_text and event.account and isinstance(event.payload, dict):
        data = dict(event.payload)
        try:
            query = MessageGetQuery(
                textType="*" if settings.notify_text else None,
                maxBytes=max(1, settings.notify_text_size or 1024 * 1024),
            )
            details = await messages.get_message(ctx, OPERATOR, event.account, str(data.get("id")), query)
        except ServiceError as exc:  # gone already, or the account is offline: send what we have
            log.info("event %s: no text for messageNew (%s)", event.id, exc.code)
        else:
            if settings.notify_text and details.text is not None:
                data["text"] = details.text.model_dump(by_alias=True)
            if settings.notify_headers:
                wanted = {h.lower() for h in settings.notify_headers}
                data["headers"] = {k: v for k, v in details.headers.items() if k in wanted}
        body["data"] = data
    return to_json(body)
