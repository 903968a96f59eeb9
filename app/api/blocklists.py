"""/v1/blocklist… routes: suppression lists."""

from __future__ import annotations

from app.api.routing import Call, Router
from app.schemas.blocklists import (
    BlocklistAdd,
    BlocklistAdded,
    BlocklistIndex,
    BlocklistPage,
    BlocklistRemoved,
    BlocklistRemoveQuery,
)
from app.schemas.common import PageQuery
from app.services import blocklists

router = Router()
TAG = "Blocklists"


@router.get("/v1/blocklists", query=PageQuery, response=BlocklistIndex, tag=TAG, errors=(400, 403))
async def list_blocklists(call: Call) -> BlocklistIndex:
    """Every list with suppressed addresses, and how many."""
    return await blocklists.list_lists(call.ctx, call.principal, call.query)


@router.get("/v1/blocklist/{listId}", query=PageQuery, response=BlocklistPage, tag=TAG, errors=(400, 403))
async def list_blocklist(call: Call) -> BlocklistPage:
    """The addresses on one list, newest first."""
    return await blocklists.list_entries(call.ctx, call.principal, call.path("listId"), call.query)


@router.post("/v1/blocklist/{listId}", body=BlocklistAdd, response=BlocklistAdded, tag=TAG, errors=(400, 403))
async def add_to_blocklist(call: Call) -> BlocklistAdded:
    """Suppress an address on a list: later messages for that list skip it."""
    return await blocklists.add(call.ctx, call.principal, call.path("listId"), call.body)


@router.delete(
    "/v1/blocklist/{listId}",
    query=BlocklistRemoveQuery,
    response=BlocklistRemoved,
    tag=TAG,
    errors=(400, 403),
)
async def remove_from_blocklist(call: Call) -> BlocklistRemoved:
    """Take an address off a list."""
    return await blocklists.remove(call.ctx, call.principal, call.path("listId"), call.query.recipient)
