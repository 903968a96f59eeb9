"""Settings, webhook deliveries and the /v1/changes event stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from pydantic import ConfigDict, create_model
from pydantic_core import to_json
from starlette.responses import Response, StreamingResponse

from app.api.routing import Call, Router
from app.schemas.common import Output
from app.schemas.settings import SettingsOut, SettingsQuery, SettingsUpdate, SettingsUpdated
from app.schemas.webhooks import ChangesQuery, Delivery, DeliveryList, DeliveryQuery
from app.services import changes, settings, webhooks
from app.services.errors import InvalidRequest

router = Router()
KEEPALIVE = 15.0


def _nothing_required(schema: dict[str, Any]) -> None:
    schema.pop("required", None)


class _Picked(Output):
    model_config = ConfigDict(json_schema_extra=_nothing_required)


#: What GET /v1/settings documents: ``?key=true`` picks keys, so no key is always present.
SettingsPicked = create_model("SettingsPicked", __base__=(SettingsOut, _Picked))


@router.get("/v1/settings", query=SettingsQuery, response=SettingsPicked, tag="Settings", errors=(400, 403))
async def get_settings(call: Call) -> Response:
    """Instance settings (system tokens only); secrets are masked. ``?key=true`` picks keys."""
    found = await settings.get_settings(call.ctx, call.principal)
    keys = settings.selected_keys(call.query)
    return Response(found.model_dump_json(include=keys), media_type="application/json")


@router.post("/v1/settings", body=SettingsUpdate, response=SettingsUpdated, tag="Settings", errors=(400, 403))
async def update_settings(call: Call) -> SettingsUpdated:
    """Change instance settings; only the keys sent are changed."""
    return await settings.update_settings(call.ctx, call.principal, call.body)


@router.get(
    "/v1/webhooks/deliveries", query=DeliveryQuery, response=DeliveryList, tag="Webhooks", errors=(400, 403)
)
async def list_deliveries(call: Call) -> DeliveryList:
    """Webhook deliveries, newest first, with attempts, last response and next attempt."""
    return await webhooks.list_deliveries(call.ctx, call.principal, call.query)


@router.post("/v1/webhooks/deliveries/{delivery}/redeliver", response=Delivery, tag="Webhooks", errors=(404,))
async def redeliver(call: Call) -> Delivery:
    """Send a delivery again now (same event id)."""
    raw = call.path("delivery")
    if not raw.isdigit() or len(raw) > 18:
        raise InvalidRequest("Delivery ids are numbers", details={"delivery": "not a number"})
    return await webhooks.redeliver(call.ctx, call.principal, int(raw))


@router.get(
    "/v1/changes", query=ChangesQuery, tag="Events", media_type="text/event-stream", errors=(400, 403)
)
async def changes_stream(call: Call) -> Response:
    """Server-sent events of the change log; resume with ``Last-Event-ID`` (or ``?since=``)."""
    q: ChangesQuery = call.query
    since = q.since
    header = call.request.headers.get("last-event-id")
    if header is not None:
        if not header.strip().isdigit():
            raise InvalidRequest(
                "Last-Event-ID must be an event id", details={"Last-Event-ID": "not a number"}
            )
        since = int(header)
    source = await changes.stream(call.ctx, call.principal, since, q.account, idle=KEEPALIVE)

    async def body() -> AsyncIterator[bytes]:
        yield b": mailgate change stream\nretry: 2000\n\n"
        async for item in source:
            if item is None:
                yield b": keep-alive\n\n"
                continue
            event_id, kind, payload = item
            yield b"id: %d\nevent: %s\ndata: %s\n\n" % (event_id, kind.encode(), to_json(payload))

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
