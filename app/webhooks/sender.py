"""One delivery attempt: render (once), sign, POST, and record what happened."""

from __future__ import annotations

import email.utils
import logging
import random
import secrets
import time
from datetime import UTC, datetime, timedelta

import httpx2
from sqlalchemy import func, or_, select, update
from sqlmodel import col

from app.models import Event, WebhookDelivery
from app.models.base import utcnow
from app.services import settings as settings_service
from app.services.context import Context
from app.webhooks import egress, signing
from app.webhooks.payload import render

log = logging.getLogger(__name__)
CLAIM = timedelta(seconds=60)  # an attempt takes at most the timeout; a crashed worker's claim lapses
MAX_RETRY_AFTER = 24 * 3600.0


def backoff(ctx: Context, attempts_made: int) -> float:
    """Seconds until the next attempt, with ±10 % jitter so retries of many events spread out."""
    schedule = ctx.settings.webhook_backoff
    base = schedule[min(attempts_made - 1, len(schedule) - 1)]
    return base * random.uniform(0.9, 1.1)


def _retry_after(response: httpx2.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    if value.strip().isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, min((when - datetime.now(UTC)).total_seconds(), MAX_RETRY_AFTER))


LANE_RUN = 200  # deliveries one task may send in a row before handing the lane back


async def claim(ctx: Context, delivery_id: int) -> str | None:
    """Take a due, unclaimed pending delivery for sending; None if someone else has it."""
    token = secrets.token_hex(8)
    now = utcnow()
    async with ctx.db.core() as s:
        result = await s.execute(
            update(WebhookDelivery)
            .where(
                col(WebhookDelivery.id) == delivery_id,
                col(WebhookDelivery.state) == "pending",
                col(WebhookDelivery.next_attempt) <= now,
                or_(col(WebhookDelivery.claimed_until).is_(None), col(WebhookDelivery.claimed_until) < now),
            )
            .values(claim=token, claimed_until=now + CLAIM)
        )
        await s.commit()
    return token if result.rowcount else None  # type: ignore[attr-defined]


async def next_in_lane(ctx: Context, delivery_id: int) -> int | None:
    """The oldest pending delivery of the same account and URL after this one."""
    d = WebhookDelivery
    async with ctx.db.core() as s:
        row = await s.get(d, delivery_id)
        if row is None:
            return None
        account = col(d.account).is_(None) if row.account is None else col(d.account) == row.account
        found = await s.execute(
            select(func.min(col(d.id))).where(account, col(d.url) == row.url, col(d.state) == "pending")
        )
        return found.scalar()


async def run_lane(ctx: Context, delivery_id: int, token: str) -> None:
    """Send a lane head and, while that goes well, the deliveries queued behind it, without a
    round trip through the dispatcher for each: per-account order stays, throughput goes up."""
    try:
        await _run_lane(ctx, delivery_id, token)
    finally:
        ctx.webhook_wake.set()  # the lane is the dispatcher's again: let it look now


async def _run_lane(ctx: Context, delivery_id: int, token: str) -> None:
    for sent in range(1, LANE_RUN + 1):
        try:
            state = await attempt(ctx, delivery_id, token)
        except Exception:
            await release(ctx, delivery_id)  # pending and unclaimed: the next dispatch tries again
            raise
        if state != "delivered" or sent == LANE_RUN:  # give the lane back to the dispatcher
            return
        following = await next_in_lane(ctx, delivery_id)
        if following is None:
            return
        taken = await claim(ctx, following)
        if taken is None:
            return
        delivery_id, token = following, taken


async def _store(ctx: Context, delivery_id: int, values: dict[str, object]) -> None:
    async with ctx.db.core() as s:
        await s.execute(
            update(WebhookDelivery).where(col(WebhookDelivery.id) == delivery_id).values(**values)
        )
        await s.commit()


async def release(ctx: Context, delivery_id: int) -> None:
    async with ctx.db.core() as s:
        await s.execute(
            update(WebhookDelivery).where(col(WebhookDelivery.id) == delivery_id).values(claimed_until=None)
        )
        await s.commit()
    ctx.webhook_wake.set()


async def attempt(ctx: Context, delivery_id: int, claim: str) -> str:
    """Try one delivery; returns its state afterwards. ``claim`` must be the delivery's current
    hand-over: a stale copy of the task (a re-kick after a lapsed claim) sends nothing."""
    async with ctx.db.core() as s:
        taken = await s.execute(
            update(WebhookDelivery)
            .where(
                col(WebhookDelivery.id) == delivery_id,
                col(WebhookDelivery.claim) == claim,
                col(WebhookDelivery.state) == "pending",
            )
            .values(claim=None)
        )
        await s.commit()
        if not taken.rowcount:  # type: ignore[attr-defined]
            return "stale"
        delivery = await s.get(WebhookDelivery, delivery_id)
        event = await s.get(Event, delivery.event_id) if delivery is not None else None
    if delivery is None:
        return "missing"
    settings = await settings_service.cached(ctx)
    if event is None or delivery.url in settings.disabled_urls:
        await _store(ctx, delivery_id, {"state": "disabled", "claimed_until": None})
        return "disabled"
    if delivery.body is None:
        # Rendered outside any transaction: with notifyText it may fetch the message over IMAP.
        delivery.body = (await render(ctx, event, settings)).decode()
        await _store(ctx, delivery_id, {"body": delivery.body})
    body, url, number = delivery.body.encode(), delivery.url, delivery.attempts + 1

    status: int | None = None
    response_text: str | None = None
    error: str | None = None
    retry_after: float | None = None
    permanent = False
    try:
        await egress.check(url, ctx.settings.webhook_allow_link_local)
        headers = signing.headers(settings.secret, delivery.event_id, number, int(time.time()), body)
        response = await ctx.http().post(
            url, content=body, headers=headers, timeout=ctx.settings.webhook_timeout
        )
        status, response_text = response.status_code, response.text[:1024]
        retry_after = _retry_after(response)
    except egress.EgressRefused as exc:
        error, permanent = f"EgressRefused: {exc}", True
    except httpx2.TimeoutException:
        error = f"Timeout after {ctx.settings.webhook_timeout:g} s"
    except (httpx2.HTTPError, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:1024]

    now = utcnow()
    values: dict[str, object] = {
        "attempts": number,
        "last_status": status,
        "last_response": response_text,
        "last_error": error,
        "claimed_until": None,
    }
    if status is not None and 200 <= status < 300:
        values.update(state="delivered", delivered_at=now)
    elif status == 410:
        values.update(state="disabled")
        await settings_service.disable_url(ctx, url)
    elif permanent or number >= delivery.max_attempts:
        values.update(state="failed")
    else:
        if status is not None and 300 <= status < 400:
            values["last_error"] = "Redirects are not followed"
        delay = retry_after if retry_after is not None else backoff(ctx, number)
        values.update(next_attempt=now + timedelta(seconds=delay))
    async with ctx.db.core() as s:
        await s.execute(
            update(WebhookDelivery).where(col(WebhookDelivery.id) == delivery_id).values(**values)
        )
        if values.get("state") == "disabled":
            await s.execute(
                update(WebhookDelivery)
                .where(col(WebhookDelivery.url) == url, col(WebhookDelivery.state) == "pending")
                .values(state="disabled")
            )
        await s.commit()
    state = str(values.get("state", "pending"))
    log.debug("webhook %s attempt %s -> %s (%s)", delivery_id, number, state, status or error)
    return state
