"""Every error leaves as ``{error, code, statusCode, details?}``; nothing leaves as a stack trace."""

from __future__ import annotations

import logging
import traceback
from http import HTTPStatus
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route

from app.mail.compose import InvalidMessage
from app.services.errors import RateLimited, ServiceError
from app.web.errors import HTTP_CODES, error_response, field_errors, invalid

log = logging.getLogger(__name__)

__all__ = ["HANDLERS", "HTTP_CODES", "error_response", "field_errors", "invalid"]


async def service_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    if exc.status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    return error_response(exc.status, exc.message, exc.code, exc.details, headers)


METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path: each endpoint is its own route, so the
    405 Starlette raises names only the first route that matched the path."""
    found = {"OPTIONS"}
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.methods and route.matches(request.scope)[0] != Match.NONE:
            found |= route.methods
    return sorted(found, key=lambda m: (METHOD_ORDER.index(m) if m in METHOD_ORDER else 99, m))


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=headers)
    message = {404: "Route not found", 405: "Method not allowed for this route"}.get(
        exc.status_code, HTTPStatus(exc.status_code).phrase
    )
    return error_response(exc.status_code, message, headers=headers)


async def invalid_message(_request: Request, exc: Exception) -> Response:
    return error_response(400, f"The message cannot be built: {exc}", "InvalidRequest")


async def database_error(_request: Request, exc: Exception) -> Response:
    log.error("database error: %s", type(exc).__name__, exc_info=exc)
    return error_response(503, "The database is unavailable, try again", "DatabaseUnavailable")


DATABASE_MODULES = ("sqlalchemy.", "asyncpg.", "aiosqlite.")


def from_database(exc: BaseException) -> bool:
    """Whether the error came up through the database engine: asyncpg raises a bare OSError,
    not a SQLAlchemy error, when it cannot connect (the server is down or restarting)."""
    return any(
        str(frame.f_globals.get("__name__", "")).startswith(DATABASE_MODULES)
        for frame, _line in traceback.walk_tb(exc.__traceback__)
    )


async def network_error(_request: Request, exc: Exception) -> Response:
    if from_database(exc):
        log.error("database unreachable: %s", exc)
        return error_response(503, "The database is unavailable, try again", "DatabaseUnavailable")
    log.error("backing service unreachable: %s", exc)
    return error_response(503, "A backing service is unavailable, try again", "ServiceUnavailable")


async def unexpected_error(_request: Request, exc: Exception) -> Response:
    log.error("unhandled error", exc_info=exc)
    return error_response(500, "Internal server error", "InternalError")


HANDLERS: dict[Any, Any] = {
    ServiceError: service_error,
    InvalidMessage: invalid_message,
    HTTPException: http_error,
    SQLAlchemyError: database_error,
    OSError: network_error,
    Exception: unexpected_error,
}
