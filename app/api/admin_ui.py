"""The bundled admin UI: its static files under ``/admin`` and the sign-in routes it uses.

First run: while no password is set, the UI offers a set-password form that is accepted only from
the loopback interface and only when no proxy forwarded the request, so a fresh instance reachable
from a network cannot be claimed by whoever finds it first. Remote operators set the password with
``mailgate admin password`` instead."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, cast

from pydantic import Field
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from app.api import session
from app.api.auth import FailureLimiter, authenticate_token
from app.api.errors import error_response
from app.api.routing import parse_body
from app.schemas.common import StrictInput
from app.services import admin, webhook_test
from app.services.context import Context
from app.services.errors import AuthenticationRequired, Forbidden, InvalidRequest, ServiceError

BUNDLE = Path(__file__).resolve().parent.parent / "static" / "admin"
FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")
LONG_CACHE = "public, max-age=31536000, immutable"
BODY_LIMIT = 16 * 1024


class PasswordInput(StrictInput):
    password: Annotated[str, Field(max_length=admin.MAX_PASSWORD)]


class SignInInput(StrictInput):
    password: Annotated[str, Field(max_length=admin.MAX_PASSWORD)] | None = None
    token: Annotated[str, Field(max_length=256)] | None = None


class SetupRefused(ServiceError):
    status, code = 403, "SetupNotAllowed"
    message = "Set the first password from this machine, or run `mailgate admin password`"


def _ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def is_local(request: Request) -> bool:
    if any(h in request.headers for h in FORWARDING_HEADERS):
        return False
    try:
        return ipaddress.ip_address(_ip(request)).is_loopback
    except ValueError:
        return False


def _parts(request: Request) -> tuple[Context, FailureLimiter]:
    return request.app.state.ctx, request.app.state.limiter


async def session_info(request: Request) -> Response:
    """What the UI shows first: sign-in, first-run set-up, or the app (with its CSRF token)."""
    ctx, _ = _parts(request)
    state = await admin.load_state(ctx)
    found = await session.current(ctx, request)
    return JSONResponse(
        {
            "passwordSet": state.password_hash is not None,
            "setupAllowed": state.password_hash is None and is_local(request),
            "signedIn": found is not None,
            "csrfToken": found[1] if found else None,
            "method": None if found is None else ("token" if found[0].token_id else "password"),
        },
        headers={"Cache-Control": "no-store"},
    )


async def _signed_in(ctx: Context, request: Request, token_id: str | None) -> Response:
    if token_id is None:
        cookie, csrf = await session.open_session(ctx)
    else:
        cookie, csrf = await session.open_token_session(ctx, token_id)
    response = JSONResponse({"signedIn": True, "csrfToken": csrf}, headers={"Cache-Control": "no-store"})
    session.set_cookie(request, response, cookie)
    return response


async def setup(request: Request) -> Response:
    ctx, _ = _parts(request)
    body = cast(PasswordInput, await parse_body(request, PasswordInput, BODY_LIMIT))
    if (await admin.load_state(ctx)).password_hash is not None:
        raise Forbidden("A password is already set: sign in", code="AlreadySetUp")
    if not is_local(request):
        raise SetupRefused()
    await admin.set_password(ctx, body.password)
    return await _signed_in(ctx, request, None)


async def sign_in(request: Request) -> Response:
    """Password or API token. Wrong passwords count against the same per-address limit as wrong
    tokens, and the limit is checked before the password, so a guesser learns nothing while limited."""
    ctx, limiter = _parts(request)
    body = cast(SignInInput, await parse_body(request, SignInInput, BODY_LIMIT))
    if (body.password is None) == (body.token is None):
        raise InvalidRequest("Send either a password or a token", details={"password": "or token"})
    ip = _ip(request)
    if body.token is not None:
        principal = await authenticate_token(body.token.strip(), ip, ctx, limiter)
        principal.require_scope("api")
        principal.require_system()
        return await _signed_in(ctx, request, principal.token_id)
    limiter.check(ip)
    if not await admin.verify_password(ctx, body.password or ""):
        limiter.fail(ip)
        if (await admin.load_state(ctx)).password_hash is None:
            raise AuthenticationRequired("No admin password is set yet", code="NoPassword")
        raise AuthenticationRequired("Wrong password", code="WrongPassword")
    return await _signed_in(ctx, request, None)


async def _require_session(request: Request) -> None:
    ctx, _ = _parts(request)
    if await session.principal(ctx, request) is None:
        raise AuthenticationRequired("Not signed in")


async def sign_out(request: Request) -> Response:
    await _require_session(request)
    response = Response(status_code=204)
    session.close_session(request, response)
    return response


async def sign_out_everywhere(request: Request) -> Response:
    await _require_session(request)
    await admin.end_all_sessions(_parts(request)[0])
    response = Response(status_code=204)
    session.close_session(request, response)
    return response


async def change_password(request: Request) -> Response:
    await _require_session(request)
    ctx, _ = _parts(request)
    body = cast(PasswordInput, await parse_body(request, PasswordInput, BODY_LIMIT))
    await admin.set_password(ctx, body.password)  # ends every session, this one included
    return await _signed_in(ctx, request, None)


async def test_webhook(request: Request) -> Response:
    """Send a test event to the configured webhook URL now and report how the receiver answered."""
    await _require_session(request)
    result = await webhook_test.send_test_event(_parts(request)[0])
    return JSONResponse(
        {
            "success": result.success,
            "status": result.status,
            "response": result.response,
            "error": result.error,
        }
    )


def _index() -> Response:
    index = BUNDLE / "index.html"
    if not index.is_file():
        return PlainTextResponse(
            "The admin UI is not built. `make run` builds it (npm ci and vite build in frontend/).",
            status_code=503,
        )
    return FileResponse(index, headers={"Cache-Control": "no-cache"})


async def static(request: Request) -> Response:
    """Hashed assets with a year's cache; any other path is a client route and gets index.html."""
    rel = str(request.path_params.get("path", ""))
    if rel:
        target = (BUNDLE / rel).resolve()
        if target.is_relative_to(BUNDLE) and target.is_file() and target.name != "index.html":
            cache = LONG_CACHE if rel.startswith("assets/") else "no-cache"
            return FileResponse(target, headers={"Cache-Control": cache})
        if rel.startswith("assets/"):
            return PlainTextResponse("Not found", status_code=404)
        if rel.startswith("api/"):
            return error_response(404, "No such admin route", "NotFound")
    return _index()


async def to_admin(_request: Request) -> Response:
    return RedirectResponse("/admin/", status_code=307)


def routes() -> list[BaseRoute]:
    return [
        Route("/", to_admin, methods=["GET", "HEAD"]),
        Route("/admin", to_admin, methods=["GET", "HEAD"]),
        Route("/admin/api/session", session_info, methods=["GET"]),
        Route("/admin/api/setup", setup, methods=["POST"]),
        Route("/admin/api/login", sign_in, methods=["POST"]),
        Route("/admin/api/logout", sign_out, methods=["POST"]),
        Route("/admin/api/logout-all", sign_out_everywhere, methods=["POST"]),
        Route("/admin/api/password", change_password, methods=["POST"]),
        Route("/admin/api/webhooks/test", test_webhook, methods=["POST"]),
        Route("/admin/{path:path}", static, methods=["GET", "HEAD"]),
    ]
