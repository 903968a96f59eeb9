"""OAuth2 applications (a client registered at Google, Microsoft or another provider) and the
short-lived state of consent flows and hosted-form links."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from app.models.base import json_column, utcnow


class OAuthApp(SQLModel, table=True):
    __tablename__ = "oauth_app"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=256)
    provider: str = Field(max_length=32)
    enabled: bool = True
    client_id: str | None = Field(default=None, max_length=1024)
    client_secret: str | None = Field(default=None)  # encrypted with the instance secret
    # The other EmailEngine fields (title, description, authority, tenant, cloud, redirectUrl,
    # extraScopes, skipScopes, baseScopes...) and the endpoints/servers of a generic provider.
    options: dict[str, Any] | None = Field(default=None, sa_column=json_column())
    last_error: dict[str, Any] | None = Field(default=None, sa_column=json_column())
    created: datetime = Field(default_factory=utcnow)
    updated: datetime = Field(default_factory=utcnow)


class OAuthFlow(SQLModel, table=True):
    """A consent in progress (keyed by its ``state``) or a hosted-form link (keyed by its nonce).
    ``data`` is encrypted: it holds the PKCE verifier and the account fields to register."""

    __tablename__ = "oauth_flow"

    id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=16)
    data: str
    expires: datetime = Field(index=True)
    used: datetime | None = None
