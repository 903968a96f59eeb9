"""Access tokens, stored only as SHA-256 digests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from app.models.base import json_column, utcnow


class Token(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)  # hex SHA-256 of the token value
    description: str = Field(default="", max_length=1024)
    scopes: list[str] = Field(sa_column=json_column(nullable=False))
    account: str | None = Field(
        default=None, foreign_key="account.id", ondelete="CASCADE", index=True, max_length=256
    )
    created: datetime = Field(default_factory=utcnow)
    last_used: datetime | None = Field(default=None)
    last_ip: str | None = Field(default=None, max_length=64)
    expires: datetime | None = Field(default=None)  # refused from then on
    # {"addresses": [CIDR...], "referrers": [glob...], "rateLimit": {...}}: enforced by auth (not rateLimit)
    restrictions: dict[str, Any] | None = Field(default=None, sa_column=json_column())
    # As given at creation, returned as is: {"metadata", "ip", "remoteAddress", "permissions"}
    details: dict[str, Any] | None = Field(default=None, sa_column=json_column())
    # The most recent uses and refusals, newest last, at most ACCESS_LOG_SIZE entries.
    access_log: list[dict[str, Any]] | None = Field(default=None, sa_column=json_column())
