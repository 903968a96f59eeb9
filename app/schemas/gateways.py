"""SMTP gateways: relays any account can send through; the password is write-only."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from app.schemas.common import Output, StrictInput

Host = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[^\s/@]+$")]
Port = Annotated[int, Field(ge=1, le=65535)]
Line = Annotated[str, Field(max_length=256, pattern=r"^[^\r\n\x00]*$")]


class GatewayCreate(StrictInput):
    gateway: Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[^\s/\x00]+$")] | None = Field(
        default=None, description="Gateway id; generated when not given, overwritten when it exists"
    )
    name: Line | None = None
    user: Line | None = None
    pass_: Annotated[str, Field(max_length=1024)] | None = Field(
        default=None, alias="pass", description="Write-only: stored encrypted, never returned"
    )
    host: Host
    port: Port
    secure: bool = Field(
        default=False, description="TLS from the start (port 465); else STARTTLS when offered"
    )


class GatewayUpdate(StrictInput):
    name: Line | None = None
    user: Line | None = None
    pass_: Annotated[str, Field(max_length=1024)] | None = Field(default=None, alias="pass")
    host: Host | None = None
    port: Port | None = None
    secure: bool | None = None


class GatewaySaved(Output):
    gateway: str
    state: str | None = Field(default=None, description="new or existing")


class GatewayError(Output):
    created: int | None = Field(default=None, description="When, in ms since the epoch")
    status: str = "error"
    response: str | None = None
    responseCode: int | None = None
    code: str | None = None
    command: str | None = None
    description: str | None = None
    networkRouting: dict[str, Any] | None = None


class GatewaySummary(Output):
    gateway: str
    name: str | None = None
    deliveries: int
    lastUse: str | None = None
    lastError: GatewayError | None = Field(default=None, description="The last failed delivery")


class GatewayInfo(GatewaySummary):
    user: str | None = None
    pass_: str | None = Field(default=None, alias="pass", description="'******' when set")
    host: str
    port: int
    secure: bool


class GatewayList(Output):
    total: int
    page: int
    pages: int
    gateways: list[GatewaySummary]


class GatewayDeleted(Output):
    gateway: str
    deleted: bool
