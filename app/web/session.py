"""Admin UI sessions: a signed cookie that authorises REST and GraphQL calls like a token.

The cookie carries the session generation it was issued under, the token it was opened with (if
any), an expiry and a random id, signed with HMAC-SHA256. Raising the stored generation ends every
session ("sign out everywhere") without a sessions table. Writes need the session's CSRF token in
the ``X-CSRF-Token`` header (websockets: ``csrfToken`` in ``connection_init``); it is derived from
the session id, so a page on another site can neither read nor forge it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from pydantic_core import from_json, to_json
from starlette.requests import HTTPConnection
from starlette.responses import Response

from app.services import admin, tokens
from app.services.context import Context
from app.services.errors import AuthenticationRequired, ServiceError
from app.services.principal import Principal

COOKIE = "mailgate_session"
CSRF_HEADER = "x-csrf-token"
LIFETIME = 12 * 3600
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: What a password session may do: everything the operator may do on the command line.
ADMIN = Principal(token_id=None, scopes=frozenset({"*"}))


class CsrfRefused(ServiceError):
    status, code, message = 403, "CsrfTokenInvalid", "Missing or wrong X-CSRF-Token header"


@dataclass(frozen=True)
class Session:
    sid: str
    generation: int
    token_id: str | None
    expires: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: bytes, payload: bytes) -> str:
    return _b64(hmac.new(key, payload, hashlib.sha256).digest())


def csrf_token(key: bytes, session: Session) -> str:
    return _sign(key, b"csrf:" + session.sid.encode())


def encode(key: bytes, session: Session) -> str:
    payload = to_json(
        {"s": session.sid, "g": session.generation, "t": session.token_id, "e": session.expires}
    )
    return f"{_b64(payload)}.{_sign(key, payload)}"


def decode(key: bytes, value: str) -> Session | None:
    """The session in a cookie value, or None when it is malformed or the signature is wrong."""
    body, _, signature = value.partition(".")
    try:
        payload = _unb64(body)
        if not hmac.compare_digest(_sign(key, payload), signature):
            return None
        data = from_json(payload)
        return Session(
            sid=str(data["s"]), generation=int(data["g"]), token_id=data["t"], expires=int(data["e"])
        )
    except (ValueError, KeyError, TypeError):
        return None


def is_https(conn: HTTPConnection) -> bool:
    return conn.url.scheme in ("https", "wss")


async def open_session(ctx: Context) -> tuple[str, str]:
    """A fresh password session: its cookie value and its CSRF token."""
    return await _open(ctx, None)


async def open_token_session(ctx: Context, token_id: str) -> tuple[str, str]:
    """A session that acts as, and lasts as long as, the API token it was opened with."""
    return await _open(ctx, token_id)


async def _open(ctx: Context, token_id: str | None) -> tuple[str, str]:
    state = await admin.load_state(ctx)
    session = Session(
        sid=secrets.token_urlsafe(16),
        generation=state.generation,
        token_id=token_id,
        expires=int(time.time()) + LIFETIME,
    )
    return encode(state.signing_key, session), csrf_token(state.signing_key, session)


def set_cookie(conn: HTTPConnection, response: Response, value: str) -> None:
    """HttpOnly (scripts never see it), SameSite=Strict (never sent from other sites), Secure
    whenever the request came over https."""
    response.set_cookie(
        COOKIE, value, max_age=LIFETIME, path="/", httponly=True, samesite="strict", secure=is_https(conn)
    )


def close_session(conn: HTTPConnection, response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=is_https(conn))


async def current(ctx: Context, conn: HTTPConnection) -> tuple[Session, str] | None:
    """The caller's valid session and its CSRF token, or None (no cookie, expired, signed out)."""
    value = conn.cookies.get(COOKIE)
    if not value:
        return None
    state = await admin.load_state(ctx)
    session = decode(state.signing_key, value)
    if session is None or session.generation != state.generation or session.expires < time.time():
        return None
    return session, csrf_token(state.signing_key, session)


def seen_request(conn: HTTPConnection) -> tokens.Request:
    """What a token's restrictions are checked against: the caller's address, Referer, method, path."""
    return tokens.Request(
        ip=conn.client.host if conn.client else "unknown",
        referrer=conn.headers.get("referer"),
        method=conn.scope.get("method") if conn.scope["type"] == "http" else None,
        path=conn.url.path,
    )


async def principal(ctx: Context, conn: HTTPConnection, csrf: str | None = None) -> Principal | None:
    """Who a session cookie stands for; None without a cookie, so that the caller asks for a token.

    Unsafe HTTP methods need the CSRF header; a websocket needs ``csrf`` (from ``connection_init``)
    because browsers send cookies on cross-site websocket handshakes that no CORS rule stops."""
    if COOKIE not in conn.cookies:
        return None
    found = await current(ctx, conn)
    if found is None:
        raise AuthenticationRequired("The admin session has ended: sign in again", code="SessionExpired")
    session, expected = found
    if conn.scope["type"] == "websocket":
        presented = csrf
    elif conn.scope.get("method", "GET") in SAFE_METHODS:
        presented = expected
    else:
        presented = conn.headers.get(CSRF_HEADER)
    if not isinstance(presented, str) or not hmac.compare_digest(presented.encode(), expected.encode()):
        raise CsrfRefused()
    if session.token_id is None:
        return ADMIN
    found_principal = await tokens.session_principal(ctx, session.token_id, seen_request(conn))
    if found_principal is None:
        raise AuthenticationRequired(
            "The token this session was opened with is revoked or expired", code="SessionExpired"
        )
    return found_principal
