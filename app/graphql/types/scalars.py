"""Scalars: dates render as REST renders them (ISO 8601, ``Z`` for UTC)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.schema.types.base_scalars import DateTimeDefinition


def _serialize(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _parse(value: Any) -> datetime:
    assert DateTimeDefinition.parse_value is not None
    parsed: datetime = DateTimeDefinition.parse_value(value)
    return parsed


DateTime = strawberry.scalar(
    name="DateTime",
    description="Date and time, ISO 8601 (UTC as 'Z', as in the REST API)",
    serialize=_serialize,
    parse_value=_parse,
)
SCALAR_OVERRIDES: dict[object, Any] = {datetime: DateTime}
