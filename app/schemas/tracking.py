"""The query of a signed tracking or unsubscribe link."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from app.schemas.common import QueryInput


class SignedLink(QueryInput):
    d: Annotated[str, Field(min_length=1, max_length=8192, pattern=r"^[A-Za-z0-9_-]+$")] = Field(
        description="What the link is about, as signed"
    )
    s: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")] = Field(
        description="Signature"
    )
