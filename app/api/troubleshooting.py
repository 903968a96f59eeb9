"""Account troubleshooting routes: the protocol log and the index flush."""

from __future__ import annotations

from starlette.responses import Response

from app.api.routing import Call, Router
from app.schemas.accounts import FlushInput, FlushResult
from app.services import flush, protocol_logs

router = Router()
TAG = "Accounts"


@router.get("/v1/logs/{account}", tag=TAG, media_type="text/plain", errors=(403, 404))
async def get_logs(call: Call) -> Response:
    """The account's protocol log as text, oldest line first: time, connection, direction
    (C sent by Mailgate, S sent by the server) and the line, with credentials and message
    contents left out. Empty unless the account has ``logs: true``."""
    text = await protocol_logs.read_log(call.ctx, call.principal, call.path("account"))
    return Response(text, media_type="text/plain; charset=utf-8")


@router.put(
    "/v1/account/{account}/flush", body=FlushInput, response=FlushResult, tag=TAG, errors=(400, 403, 404)
)
async def flush_account(call: Call) -> FlushResult:
    """Drop the account's message index and rebuild it from the server, without announcing the
    re-indexed mail: no messageDeleted, and messageNew only for mail newer than ``notifyFrom``
    (default: now). Nothing happens unless ``flush`` is true."""
    if call.body.flush:
        await flush.request(call.ctx, call.principal, call.path("account"), call.body.notifyFrom)
    return FlushResult(flush=call.body.flush)
