"""/v1/account/{account}/mailbox… routes."""

from __future__ import annotations

from app.api.routing import Call, Router
from app.schemas.mailboxes import (
    MailboxCreate,
    MailboxCreated,
    MailboxDeleted,
    MailboxDeleteQuery,
    MailboxList,
    MailboxListQuery,
    MailboxUpdate,
    MailboxUpdated,
)
from app.services import mailboxes

router = Router()
TAG = "Mailboxes"
ERRORS = (400, 403, 404, 503)


@router.get(
    "/v1/account/{account}/mailboxes", query=MailboxListQuery, response=MailboxList, tag=TAG, errors=ERRORS
)
async def list_mailboxes(call: Call) -> MailboxList:
    """List folders from the index; ``counters=true`` adds message and unseen counts."""
    return await mailboxes.list_mailboxes(call.ctx, call.principal, call.path("account"), call.query.counters)


@router.post(
    "/v1/account/{account}/mailbox", body=MailboxCreate, response=MailboxCreated, tag=TAG, errors=ERRORS
)
async def create_mailbox(call: Call) -> MailboxCreated:
    """Create a folder on the server."""
    return await mailboxes.create_mailbox(call.ctx, call.principal, call.path("account"), call.body)


@router.put(
    "/v1/account/{account}/mailbox", body=MailboxUpdate, response=MailboxUpdated, tag=TAG, errors=ERRORS
)
async def update_mailbox(call: Call) -> MailboxUpdated:
    """Rename a folder (message ids inside it stay valid) and/or change its subscription."""
    return await mailboxes.update_mailbox(call.ctx, call.principal, call.path("account"), call.body)


@router.delete(
    "/v1/account/{account}/mailbox", query=MailboxDeleteQuery, response=MailboxDeleted, tag=TAG, errors=ERRORS
)
async def delete_mailbox(call: Call) -> MailboxDeleted:
    """Delete a folder and everything in it."""
    return await mailboxes.delete_mailbox(call.ctx, call.principal, call.path("account"), call.query.path)
