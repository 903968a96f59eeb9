"""Domain errors; transports turn them into ``{error, code, statusCode, details}``."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    status: int = 400
    code: str = "InvalidRequest"
    message: str = "Invalid request"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.status = status or self.status
        self.details = details
        super().__init__(self.message)


class InvalidRequest(ServiceError):
    pass


class AuthenticationRequired(ServiceError):
    status, code, message = 401, "AuthenticationRequired", "A valid access token is required"


class Forbidden(ServiceError):
    status, code, message = 403, "Forbidden", "This token is not allowed to do that"


class NotFound(ServiceError):
    status, code, message = 404, "NotFound", "Not found"


class AccountNotFound(NotFound):
    code, message = "AccountNotFound", "Account record was not found for requested ID"


class TokenNotFound(NotFound):
    code, message = "TokenNotFound", "Access token was not found"


class RateLimited(ServiceError):
    status, code, message = 429, "RateLimitExceeded", "Too many requests"

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
