"""GraphQL errors carry what REST errors carry: ``extensions: {code, statusCode, details?}``,
with the same codes. Unexpected failures are logged here and reach the client as a bare
``InternalError``, never as a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from graphql import GraphQLError
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from app.mail.compose import InvalidMessage
from app.web.errors import field_errors

log = logging.getLogger("mailgate.graphql")


def describe(exc: BaseException | None) -> tuple[str, dict[str, Any]] | None:
    """(message, extensions) for an exception raised by a resolver; None for GraphQL's own
    errors (syntax, validation, guards), which already say what is wrong."""
    from app.services.errors import ServiceError

    if exc is None or isinstance(exc, GraphQLError):
        return None
    if isinstance(exc, ServiceError):
        extensions: dict[str, Any] = {"code": exc.code, "statusCode": exc.status}
        if exc.details:
            extensions["details"] = exc.details
        return exc.message, extensions
    if isinstance(exc, InvalidMessage):
        return f"The message cannot be built: {exc}", {"code": "InvalidRequest", "statusCode": 400}
    if isinstance(exc, ValidationError):
        return "Invalid input", {
            "code": "InvalidRequest",
            "statusCode": 400,
            "details": field_errors(exc),
        }
    if isinstance(exc, SQLAlchemyError):
        log.error("database error: %s", type(exc).__name__, exc_info=exc)
        return "The database is unavailable, try again", {"code": "DatabaseUnavailable", "statusCode": 503}
    if isinstance(exc, OSError):
        log.error("backing service unreachable: %s", exc)
        return "A backing service is unavailable, try again", {
            "code": "ServiceUnavailable",
            "statusCode": 503,
        }
    log.error("unhandled error in a resolver", exc_info=exc)
    return "Internal server error", {"code": "InternalError", "statusCode": 500}


def shape(error: GraphQLError) -> GraphQLError:
    found = describe(error.original_error)
    if found is None:
        return error
    message, extensions = found
    return GraphQLError(message, error.nodes, error.source, error.positions, error.path, None, extensions)
