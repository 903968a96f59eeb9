"""SMTP gateways: relays any account's messages can be sent through, even an account that has
no SMTP settings of its own. Passwords are encrypted at rest and never returned."""

from __future__ import annotations

import secrets
import time
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlmodel import col

from app.models import Gateway
from app.models.base import utcnow
from app.schemas.common import PageQuery, iso, page_count
from app.schemas.gateways import (
    GatewayCreate,
    GatewayDeleted,
    GatewayInfo,
    GatewayList,
    GatewaySaved,
    GatewaySummary,
    GatewayUpdate,
)
from app.services.context import Context
from app.services.credentials import MASK
from app.services.errors import NotFound
from app.services.principal import Principal

G = Gateway


class GatewayNotFound(NotFound):
    code, message = "GatewayNotFound", "Gateway was not found"


async def create(ctx: Context, principal: Principal, data: GatewayCreate) -> GatewaySaved:
    """Create, or overwrite the gateway with the same id (as EmailEngine does)."""
    principal.require_system()
    gateway_id = data.gateway or secrets.token_hex(8)
    now = utcnow()
    async with ctx.db.session() as s:
        row = await s.get(Gateway, gateway_id)
        state = "existing" if row is not None else "new"
        if row is None:
            row = Gateway(id=gateway_id, host=data.host, port=data.port, created=now)
        row.name, row.host, row.port, row.secure, row.user = (
            data.name,
            data.host,
            data.port,
            data.secure,
            data.user,
        )
        row.password = ctx.cipher.encrypt(data.pass_) if data.pass_ else None
        row.updated = now
        s.add(row)
        await s.commit()
    return GatewaySaved(gateway=gateway_id, state=state)


async def edit(ctx: Context, principal: Principal, gateway_id: str, data: GatewayUpdate) -> GatewaySaved:
    principal.require_system()
    async with ctx.db.session() as s:
        row = await s.get(Gateway, gateway_id)
        if row is None:
            raise GatewayNotFound()
        for field in ("name", "user", "host", "port", "secure"):
            if field in data.model_fields_set:
                value = getattr(data, field)
                if value is not None or field in ("name", "user"):
                    setattr(row, field, value)
        if "pass_" in data.model_fields_set:
            row.password = ctx.cipher.encrypt(data.pass_) if data.pass_ else None
        row.updated = utcnow()
        s.add(row)
        await s.commit()
    return GatewaySaved(gateway=gateway_id)


def _summary(row: Gateway) -> dict[str, Any]:
    return {
        "gateway": row.id,
        "name": row.name,
        "deliveries": row.deliveries,
        "lastUse": iso(row.last_use),
        "lastError": row.last_error,
    }


async def _load(ctx: Context, gateway_id: str) -> Gateway:
    async with ctx.db.session() as s:
        row = await s.get(Gateway, gateway_id)
    if row is None:
        raise GatewayNotFound()
    return row


async def get(ctx: Context, principal: Principal, gateway_id: str) -> GatewayInfo:
    principal.require_system()
    row = await _load(ctx, gateway_id)
    return GatewayInfo.model_validate(
        {
            **_summary(row),
            "user": row.user,
            "pass": MASK if row.password else None,
            "host": row.host,
            "port": row.port,
            "secure": row.secure,
        }
    )


async def list_gateways(ctx: Context, principal: Principal, query: PageQuery) -> GatewayList:
    principal.require_system()
    async with ctx.db.core() as s:
        total = int((await s.execute(select(func.count()).select_from(G))).scalar_one())
        rows = (
            await s.execute(
                select(G).order_by(col(G.id)).offset(query.page * query.pageSize).limit(query.pageSize)
            )
        ).scalars()
        items = [GatewaySummary(**_summary(r)) for r in rows]
    return GatewayList(total=total, page=query.page, pages=page_count(total, query.pageSize), gateways=items)


async def remove(ctx: Context, principal: Principal, gateway_id: str) -> GatewayDeleted:
    principal.require_system()
    async with ctx.db.core() as s:
        result = await s.execute(delete(G).where(col(G.id) == gateway_id))
        await s.commit()
    if not result.rowcount:  # type: ignore[attr-defined]
        raise GatewayNotFound()
    return GatewayDeleted(gateway=gateway_id, deleted=True)


async def exists(ctx: Context, gateway_id: str) -> None:
    """Checked at submit time, so that a typo is a 404 now rather than a failed send later."""
    await _load(ctx, gateway_id)


async def smtp_settings(ctx: Context, gateway_id: str) -> dict[str, Any] | None:
    """The gateway as SMTP settings for sending (password decrypted), or None if it is gone."""
    async with ctx.db.session() as s:
        row = await s.get(Gateway, gateway_id)
    if row is None:
        return None
    cfg: dict[str, Any] = {"host": row.host, "port": row.port, "secure": row.secure}
    if row.user:
        cfg["auth"] = {"user": row.user, "pass": ctx.cipher.decrypt(row.password) if row.password else ""}
    return cfg


async def record_use(ctx: Context, gateway_id: str, error: dict[str, Any] | None) -> None:
    """Count a delivery, or keep the failure as ``lastError``."""
    now = utcnow()
    values: dict[str, Any] = {"last_use": now}
    if error is None:
        values["deliveries"] = G.deliveries + 1
    else:
        values["last_error"] = {"created": int(time.time() * 1000), "status": "error", **error}
    async with ctx.db.writer() as s:
        await s.execute(update(G).where(col(G.id) == gateway_id).values(**values))
        await s.commit()
