"""Templates, SMTP gateways and suppression lists (generated from the REST schemas)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.graphql.types.generate import input_type, output_type, register
from app.schemas import blocklists as bl
from app.schemas import gateways as gw
from app.schemas import templates as tp

if TYPE_CHECKING:
    Template = tp.TemplateInfo
    TemplateList = tp.TemplateList
    TemplateCreated = tp.TemplateCreated
    TemplateUpdated = tp.TemplateUpdated
    TemplateDeleted = tp.TemplateDeleted
    TemplatesFlushed = tp.TemplatesFlushed
    Gateway = gw.GatewayInfo
    GatewayList = gw.GatewayList
    GatewaySaved = gw.GatewaySaved
    GatewayDeleted = gw.GatewayDeleted
    Blocklist = bl.BlocklistPage
    BlocklistIndex = bl.BlocklistIndex
    BlocklistAdded = bl.BlocklistAdded
    BlocklistRemoved = bl.BlocklistRemoved
    TemplateCreateInput = Any
    TemplateUpdateInput = Any
    GatewayCreateInput = Any
    GatewayUpdateInput = Any
    BlocklistAddInput = Any
else:
    register(tp.TemplateInfo, "Template")
    register(gw.GatewayInfo, "Gateway")
    register(bl.BlocklistPage, "Blocklist")
    Template = output_type(tp.TemplateInfo)
    TemplateList = output_type(tp.TemplateList)
    TemplateCreated = output_type(tp.TemplateCreated)
    TemplateUpdated = output_type(tp.TemplateUpdated)
    TemplateDeleted = output_type(tp.TemplateDeleted)
    TemplatesFlushed = output_type(tp.TemplatesFlushed)
    Gateway = output_type(gw.GatewayInfo)
    GatewayList = output_type(gw.GatewayList)
    GatewaySaved = output_type(gw.GatewaySaved)
    GatewayDeleted = output_type(gw.GatewayDeleted)
    Blocklist = output_type(bl.BlocklistPage)
    BlocklistIndex = output_type(bl.BlocklistIndex)
    BlocklistAdded = output_type(bl.BlocklistAdded)
    BlocklistRemoved = output_type(bl.BlocklistRemoved)
    TemplateCreateInput = input_type(tp.TemplateCreate)
    TemplateUpdateInput = input_type(tp.TemplateUpdate)
    GatewayCreateInput = input_type(gw.GatewayCreate)
    GatewayUpdateInput = input_type(gw.GatewayUpdate)
    BlocklistAddInput = input_type(bl.BlocklistAdd)
