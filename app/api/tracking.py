"""Public routes behind tracking and unsubscribe links. They need no token: the link's
signature is the authorization, and a link that does not verify is refused with 403."""

from __future__ import annotations

import base64
import html

from starlette.responses import HTMLResponse, RedirectResponse, Response

from app.api.routing import Call, Router
from app.schemas.tracking import SignedLink
from app.services import tracking

router = Router()
TAG = "Tracking"
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = {"Cache-Control": "no-store, max-age=0", "X-Robots-Tag": "noindex"}


def _who(call: Call) -> tuple[str | None, str | None]:
    remote = call.request.client.host if call.request.client else None
    return remote, call.request.headers.get("user-agent")


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset=utf-8><meta name=robots content=noindex>"
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>{body}</body></html>",
        status_code=status,
        headers=NO_STORE,
    )


@router.get(
    tracking.OPEN_PATH, query=SignedLink, scope=None, tag=TAG, media_type="image/gif", errors=(400, 403)
)
async def track_open(call: Call) -> Response:
    """Open pixel: records ``trackOpen`` and answers a transparent 1x1 GIF."""
    q: SignedLink = call.query
    payload = tracking.verify(call.ctx, "open", q.d, q.s)
    await tracking.opened(call.ctx, payload, *_who(call))
    return Response(PIXEL, media_type="image/gif", headers=NO_STORE)


@router.get(tracking.CLICK_PATH, query=SignedLink, scope=None, tag=TAG, status=302, errors=(400, 403))
async def track_click(call: Call) -> Response:
    """Tracked link: records ``trackClick`` and redirects to the URL signed into the link."""
    q: SignedLink = call.query
    payload = tracking.verify(call.ctx, "click", q.d, q.s)
    target = await tracking.clicked(call.ctx, payload, *_who(call))
    return RedirectResponse(target, status_code=302, headers=NO_STORE)


@router.get(
    tracking.UNSUBSCRIBE_PATH,
    query=SignedLink,
    scope=None,
    tag=TAG,
    media_type="text/html",
    errors=(400, 403),
)
async def unsubscribe_page(call: Call) -> Response:
    """Asks to confirm: mail scanners follow links, so a GET never unsubscribes by itself."""
    q: SignedLink = call.query
    payload = tracking.verify(call.ctx, "unsubscribe", q.d, q.s)
    recipient = html.escape(str(payload.get("r", "")))
    form = (
        f"<p>Stop sending messages of this list to {recipient}?</p>"
        '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>'
    )
    return _page("Unsubscribe", form)


@router.post(
    tracking.UNSUBSCRIBE_PATH,
    query=SignedLink,
    scope=None,
    tag=TAG,
    media_type="text/html",
    errors=(400, 403),
)
async def unsubscribe(call: Call) -> Response:
    """One-click unsubscribe (RFC 8058): puts the recipient on the list's suppression list and
    emits ``listUnsubscribe``."""
    q: SignedLink = call.query
    payload = tracking.verify(call.ctx, "unsubscribe", q.d, q.s)
    await tracking.unsubscribed(call.ctx, payload, *_who(call))
    return _page("Unsubscribed", "<p>You will not get messages of this list any more.</p>")
