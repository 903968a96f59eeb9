"""Shapes shared by every area: strict input, errors, pagination."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, overload

from pydantic import BaseModel, ConfigDict, Field


class StrictInput(BaseModel):
    """Request bodies reject unknown keys so that a typo is an error, not a silent no-op."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class QueryInput(BaseModel):
    """Query strings ignore unknown keys (``access_token`` travels there too)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Output(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


def absent(value: object) -> bool:
    """Fields that only some servers or requests fill are left out of the JSON, not sent as null."""
    return value is None


class ErrorResponse(Output):
    error: str = Field(description="Human-readable message")
    code: str = Field(description="Stable machine-readable code, e.g. InvalidRequest")
    statusCode: int
    details: dict[str, Any] | None = Field(default=None, description="Per-field messages for invalid input")


Page = Annotated[int, Field(ge=0, le=1_000_000, description="Page number, 0-based")]
PageSize = Annotated[int, Field(ge=1, le=1000, description="Items per page")]


class PageQuery(QueryInput):
    page: Page = 0
    pageSize: PageSize = 20


def page_count(total: int, page_size: int) -> int:
    return -(-total // page_size)


@overload
def iso(value: datetime) -> str: ...
@overload
def iso(value: None) -> None: ...
def iso(value: datetime | None) -> str | None:
    """UTC time as EmailEngine writes it: milliseconds and ``Z``."""
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z") if value else None
