"""Short-lived, single-use records behind consent redirects and hosted-form links.

The payload is encrypted, so the PKCE verifier and the account fields waiting for a consent are
not readable in the database; taking a record marks it used in the same UPDATE, so a link or a
callback replayed (or raced from two browsers) is refused."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import col

from app.models import OAuthFlow
from app.models.base import utcnow
from app.services.context import Context
from app.services.errors import InvalidRequest


class FlowExpired(InvalidRequest):
    code, message = "InvalidState", "This link or sign-in has expired or was already used"


async def save(ctx: Context, flow_id: str, kind: str, payload: dict[str, Any], ttl: timedelta) -> None:
    now = utcnow()
    async with ctx.db.core() as core:  # old records go as new ones come
        await core.execute(delete(OAuthFlow).where(col(OAuthFlow.expires) < now - timedelta(days=1)))
        await core.commit()
    async with ctx.db.session() as s:
        s.add(
            OAuthFlow(id=flow_id, kind=kind, data=ctx.cipher.encrypt(json.dumps(payload)), expires=now + ttl)
        )
        await s.commit()


async def peek(ctx: Context, flow_id: str, kind: str) -> dict[str, Any]:
    """The payload of a live record, leaving it unused."""
    async with ctx.db.session() as s:
        row = await s.get(OAuthFlow, flow_id)
    if row is None or row.kind != kind or row.used is not None or row.expires <= utcnow():
        raise FlowExpired()
    loaded: dict[str, Any] = json.loads(ctx.cipher.decrypt(row.data))
    return loaded


async def take(ctx: Context, flow_id: str, kind: str) -> dict[str, Any]:
    """The payload, marking the record used; :class:`FlowExpired` if it is not live."""
    payload = await peek(ctx, flow_id, kind)
    now = utcnow()
    async with ctx.db.core() as s:
        result = await s.execute(
            update(OAuthFlow)
            .where(col(OAuthFlow.id) == flow_id, col(OAuthFlow.used).is_(None), col(OAuthFlow.expires) > now)
            .values(used=now)
        )
        await s.commit()
    if not result.rowcount:  # type: ignore[attr-defined]
        raise FlowExpired()
    return payload
