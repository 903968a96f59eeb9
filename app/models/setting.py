"""Instance settings (key → JSON) and named leases for process-wide singletons."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from app.models.base import json_column


class Setting(SQLModel, table=True):
    key: str = Field(primary_key=True, max_length=128)
    value: Any = Field(default=None, sa_column=json_column())


class Lease(SQLModel, table=True):
    """Who runs a cluster-wide singleton (e.g. the webhook dispatcher), and until when."""

    name: str = Field(primary_key=True, max_length=64)
    owner: str | None = Field(default=None, max_length=128)
    expires: datetime | None = None
