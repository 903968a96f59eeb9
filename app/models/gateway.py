"""SMTP gateways: relays that messages of any account can be sent through."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from app.models.base import json_column, utcnow


class Gateway(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=256)
    name: str | None = Field(default=None, max_length=256)
    host: str = Field(max_length=256)
    port: int
    secure: bool = False
    user: str | None = Field(default=None, max_length=256)
    password: str | None = Field(default=None)  # encrypted with the instance secret
    deliveries: int = 0
    last_use: datetime | None = None
    # {"created": ms, "status": "error", "response", "responseCode", "code"} of the last failure
    last_error: dict[str, Any] | None = Field(default=None, sa_column=json_column())
    created: datetime = Field(default_factory=utcnow)
    updated: datetime = Field(default_factory=utcnow)
