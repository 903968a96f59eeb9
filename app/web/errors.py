"""The error body every transport sends, ``{error, code, statusCode, details?}``, and the
flattening of validation errors into ``details``."""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

from pydantic import ValidationError
from starlette.responses import JSONResponse

from app.services.errors import InvalidRequest

HTTP_CODES = {
    400: "InvalidRequest",
    401: "AuthenticationRequired",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    429: "RateLimitExceeded",
    503: "ServiceUnavailable",
}
# Union members and validators show up in pydantic error locations; they are not fields.
_BRANCH_TAG = re.compile(r"\[|^[A-Z][A-Za-z0-9_]*$")


def error_response(
    status: int,
    message: str,
    code: str | None = None,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "error": message,
        "code": code or HTTP_CODES.get(status, HTTPStatus(status).phrase.replace(" ", "")),
        "statusCode": status,
    }
    if details:
        body["details"] = details
    return JSONResponse(body, status_code=status, headers=headers)


def field_errors(exc: ValidationError, prefix: str = "") -> dict[str, str]:
    """Flatten pydantic errors to ``{"imap.port": "message"}``."""
    found: list[tuple[str, str, str]] = []
    for err in exc.errors(include_url=False):
        parts = [str(p) for p in err["loc"] if not (isinstance(p, str) and _BRANCH_TAG.search(p))]
        key = ".".join(([prefix] if prefix else []) + parts) or (prefix or "body")
        kind = err["type"]
        message = {"extra_forbidden": "Unknown field", "missing": "Field is required"}.get(kind, err["msg"])
        message = re.sub(r" or instance of \w+", " (object)", message.removeprefix("Value error, "))
        found.append((key, kind, message))
    details: dict[str, str] = {}
    for key, kind, message in found:
        # `imap: ImapInput | false`: the "should be False" half of a failed union is noise.
        if kind == "literal_error" and any(
            k != "literal_error" and (other == key or other.startswith(key + ".")) for other, k, _ in found
        ):
            continue
        details.setdefault(key, message)
    return details


def invalid(exc: ValidationError, what: str, prefix: str = "") -> InvalidRequest:
    return InvalidRequest(f"Invalid {what}", details=field_errors(exc, prefix))
