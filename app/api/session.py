"""Admin UI sessions for the REST side; the cookie and CSRF checks live in ``app.web.session``,
shared with the GraphQL websocket."""

from __future__ import annotations

from app.web.session import (
    ADMIN,
    COOKIE,
    CSRF_HEADER,
    LIFETIME,
    SAFE_METHODS,
    CsrfRefused,
    Session,
    close_session,
    csrf_token,
    current,
    decode,
    encode,
    is_https,
    open_session,
    open_token_session,
    principal,
    set_cookie,
)

__all__ = [
    "ADMIN",
    "COOKIE",
    "CSRF_HEADER",
    "LIFETIME",
    "SAFE_METHODS",
    "CsrfRefused",
    "Session",
    "close_session",
    "csrf_token",
    "current",
    "decode",
    "encode",
    "is_https",
    "open_session",
    "open_token_session",
    "principal",
    "set_cookie",
]
