"""A test event for the admin UI's "send a test event": one signed POST to the configured webhook
URL, answered synchronously so the operator sees at once whether the receiver accepts it.

It goes through the same egress rules, custom headers and signatures as real deliveries, but it is
not a change-log event: no delivery row, no retry, and GraphQL or /v1/changes never see it."""

from __future__ import annotations

import time
from dataclasses import dataclass

import aiohttp
from pydantic_core import to_json

from app.models.base import utcnow
from app.services import settings as settings_service
from app.services import webhook_egress as egress
from app.services import webhook_signing as signing
from app.services.context import Context
from app.services.errors import InvalidRequest

EVENT = "test"


@dataclass(frozen=True)
class TestResult:
    success: bool
    status: int | None
    response: str | None
    error: str | None


async def send_test_event(ctx: Context) -> TestResult:
    settings = await settings_service.load(ctx)
    if not settings.url:
        raise InvalidRequest("Set a webhook URL first", details={"webhooks": "not set"})
    body = to_json(
        {
            "serviceUrl": settings.service_url,
            "account": None,
            "date": utcnow().isoformat().replace("+00:00", "Z"),
            "event": EVENT,
            "data": {"message": "A test event from Mailgate"},
        }
    )
    try:
        await egress.check(settings.url, ctx.settings.webhook_allow_link_local)
    except egress.EgressRefused as exc:
        return TestResult(False, None, None, f"EgressRefused: {exc}")
    headers = {
        **dict(settings.custom_headers),
        **signing.headers(settings.secret, 0, 1, int(time.time()), body),
    }
    timeout = aiohttp.ClientTimeout(total=ctx.settings.webhook_timeout)
    try:
        async with ctx.http().post(
            settings.url, data=body, headers=headers, timeout=timeout, allow_redirects=False
        ) as response:
            text = (await response.content.read(1024)).decode("utf-8", "replace")
            return TestResult(200 <= response.status < 300, response.status, text, None)
    except TimeoutError:
        return TestResult(False, None, None, f"Timeout after {ctx.settings.webhook_timeout:g} s")
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        return TestResult(False, None, None, f"{type(exc).__name__}: {exc}"[:1024])
