"""Finding the caller's token, and slowing down anyone guessing tokens."""

from __future__ import annotations

import time
from collections import deque

from starlette.requests import HTTPConnection

from app.services import tokens
from app.services.context import Context
from app.services.errors import AuthenticationRequired, RateLimited
from app.services.principal import Principal
from app.web import session

WINDOW = 60.0


class FailureLimiter:
    """Counts failed authentications per client address over a sliding minute."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        hits = self._failures.setdefault(key, deque())
        while hits and now - hits[0] > WINDOW:
            hits.popleft()
        return hits

    def check(self, key: str) -> None:
        if not self.per_minute:
            return
        now = time.monotonic()
        hits = self._recent(key, now)
        if len(hits) >= self.per_minute:
            raise RateLimited(
                int(WINDOW - (now - hits[0])) + 1, "Too many failed authentication attempts, slow down"
            )
        if not hits:
            self._failures.pop(key, None)

    def fail(self, key: str) -> None:
        if self.per_minute:
            self._recent(key, time.monotonic()).append(time.monotonic())


def presented_token(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return conn.query_params.get("access_token") or None


async def authenticate(conn: HTTPConnection, ctx: Context, limiter: FailureLimiter) -> Principal:
    seen = session.seen_request(conn)
    token = presented_token(conn)
    if token is None and (by_session := await session.principal(ctx, conn)) is not None:
        return by_session  # the admin UI's cookie
    return await authenticate_token(token, seen.ip or "unknown", ctx, limiter, seen)


async def authenticate_token(
    token: str | None,
    ip: str,
    ctx: Context,
    limiter: FailureLimiter,
    seen: tokens.Request | None = None,
) -> Principal:
    """The one token check, for headers, query strings and websocket ``connection_init`` alike.

    A valid token is never refused: the limiter sees only failures, so clients that share an
    address (a proxy, a NAT) cannot lock each other out by guessing. Checking first costs one
    primary-key lookup of a well-formed token (malformed ones are refused without a query)."""
    request = seen or tokens.Request(ip=ip)
    principal = await tokens.authenticate(ctx, token, request) if token is not None else None
    if principal is not None:
        return principal
    limiter.check(ip)
    if token is None:
        raise AuthenticationRequired("Authentication required: send 'Authorization: Bearer <token>'")
    limiter.fail(ip)
    raise AuthenticationRequired("Invalid or revoked access token")
