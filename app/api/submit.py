"""/v1/account/{account}/submit and /v1/outbox routes."""

from __future__ import annotations

from pydantic import BaseModel

from app.api.routing import Call, Router
from app.schemas.submit import (
    DryRun,
    OutboxDeleted,
    OutboxEntry,
    OutboxList,
    OutboxQuery,
    StoredSubmitInput,
    SubmitInput,
    SubmitQuery,
    SubmitResult,
    Submitted,
)
from app.services import outbox, submit

router = Router()
TAG = "Sending"


@router.post(
    "/v1/account/{account}/submit",
    body=SubmitInput,
    query=SubmitQuery,
    response=SubmitResult,
    tag=TAG,
    errors=(400, 403, 404, 503),
    description=(
        "Queues the message for delivery and answers once it is stored. With an `Idempotency-Key` "
        "header, a repeated request within 24 hours answers as the first did and sends nothing. "
        f"`dryRun: true` answers with the built message instead ({DryRun.__name__})."
    ),
)
async def submit_message(call: Call) -> BaseModel:
    """Send a message (queued, retried, reported by webhooks)."""
    key = call.request.headers.get("idempotency-key")
    return await submit.submit(call.ctx, call.principal, call.path("account"), call.body, key)


@router.post(
    "/v1/account/{account}/message/{message}/submit",
    body=StoredSubmitInput,
    response=Submitted,
    tag=TAG,
    errors=(400, 403, 404, 503),
    description=(
        "Sends a message already stored in a folder (a draft) as it is, through the same outbox: "
        "retries, events and the Sent copy as for any submit. Its Bcc header is not transmitted."
    ),
)
async def submit_stored_message(call: Call) -> BaseModel:
    """Send a stored message (e.g. a draft)."""
    key = call.request.headers.get("idempotency-key")
    return await submit.submit_stored(
        call.ctx, call.principal, call.path("account"), call.path("message"), call.body, key
    )


@router.get("/v1/outbox", query=OutboxQuery, response=OutboxList, tag=TAG, errors=(400, 403))
async def list_outbox(call: Call) -> OutboxList:
    """Queued and scheduled messages (``state`` filters; ``pending`` by default)."""
    return await outbox.list_outbox(call.ctx, call.principal, call.query)


@router.get("/v1/outbox/{queueId}", response=OutboxEntry, tag=TAG, errors=(403, 404))
async def get_outbox_item(call: Call) -> OutboxEntry:
    """One outbox entry with its progress, kept for 7 days after it finished."""
    return await outbox.get_item(call.ctx, call.principal, call.path("queueId"))


@router.delete("/v1/outbox/{queueId}", response=OutboxDeleted, tag=TAG, errors=(403, 404, 409))
async def cancel_outbox_item(call: Call) -> OutboxDeleted:
    """Cancel a queued or scheduled message."""
    return await outbox.cancel(call.ctx, call.principal, call.path("queueId"))
