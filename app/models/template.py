"""Stored message templates: global (no account) or owned by one account."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, String
from sqlmodel import Field, SQLModel

from app.models.base import json_column, utcnow


class Template(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    account: str | None = Field(
        default=None,
        sa_column=Column(
            String(256), ForeignKey("account.id", ondelete="CASCADE"), nullable=True, index=True
        ),
    )
    name: str = Field(max_length=256)
    description: str | None = Field(default=None, max_length=1024)
    format: str = Field(default="html", max_length=16)  # html | markdown: how ``content.html`` is written
    # {"subject", "text", "html", "previewText"}: Handlebars sources
    content: dict[str, Any] = Field(sa_column=json_column(nullable=False))
    created: datetime = Field(default_factory=utcnow)
    updated: datetime = Field(default_factory=utcnow)
