"""Column helpers shared by the tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column


def utcnow() -> datetime:
    return datetime.now(UTC)


def json_column(nullable: bool = True) -> Any:
    """A JSON column; a fresh Column per field because SQLAlchemy binds a Column to one table."""
    return Column(JSON, nullable=nullable)
