"""Reading a request body: a size limit that holds whether the length is declared or streamed,
and strict JSON."""

from __future__ import annotations

from typing import Any

from pydantic_core import from_json
from starlette.requests import Request

from app.services.errors import InvalidRequest, ServiceError


class PayloadTooLarge(ServiceError):
    status, code, message = 413, "PayloadTooLarge", "Request body is too large"


class UnsupportedMediaType(ServiceError):
    status, code, message = 415, "UnsupportedMediaType", "Send the request body as application/json"


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused with 413 past ``limit`` bytes (declared or streamed)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"Request body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"Request body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def decode_json(raw: bytes | str) -> Any:
    """Strict JSON: bad UTF-8, lone surrogates, NaN and nesting deeper than any real request
    (the parser stops at 200 levels, long before the interpreter's recursion limit) are 400s."""
    try:
        return from_json(raw, allow_inf_nan=False)
    except ValueError as exc:
        raise InvalidRequest("Request body is not valid JSON", details={"body": str(exc)}) from None
