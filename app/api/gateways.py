"""/v1/gateway… routes."""

from __future__ import annotations

from app.api.routing import Call, Router
from app.schemas.common import PageQuery
from app.schemas.gateways import (
    GatewayCreate,
    GatewayDeleted,
    GatewayInfo,
    GatewayList,
    GatewaySaved,
    GatewayUpdate,
)
from app.services import gateways

router = Router()
TAG = "SMTP gateways"


@router.get("/v1/gateways", query=PageQuery, response=GatewayList, tag=TAG, errors=(400, 403))
async def list_gateways(call: Call) -> GatewayList:
    """List SMTP gateways with their delivery counts."""
    return await gateways.list_gateways(call.ctx, call.principal, call.query)


@router.post("/v1/gateway", body=GatewayCreate, response=GatewaySaved, tag=TAG, errors=(400, 403))
async def create_gateway(call: Call) -> GatewaySaved:
    """Register an SMTP gateway (or replace the one with the same id)."""
    return await gateways.create(call.ctx, call.principal, call.body)


@router.get("/v1/gateway/{gateway}", response=GatewayInfo, tag=TAG, errors=(403, 404))
async def get_gateway(call: Call) -> GatewayInfo:
    """One gateway; its password is never returned."""
    return await gateways.get(call.ctx, call.principal, call.path("gateway"))


@router.put(
    "/v1/gateway/edit/{gateway}", body=GatewayUpdate, response=GatewaySaved, tag=TAG, errors=(400, 403, 404)
)
async def edit_gateway(call: Call) -> GatewaySaved:
    """Change a gateway; fields not given stay as they are."""
    return await gateways.edit(call.ctx, call.principal, call.path("gateway"), call.body)


@router.delete("/v1/gateway/{gateway}", response=GatewayDeleted, tag=TAG, errors=(403, 404))
async def delete_gateway(call: Call) -> GatewayDeleted:
    """Delete a gateway; messages queued for it fail with EGATEWAY."""
    return await gateways.remove(call.ctx, call.principal, call.path("gateway"))
