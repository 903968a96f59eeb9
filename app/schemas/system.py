"""Operational shapes: health and stats."""

from __future__ import annotations

from typing import Literal

from app.schemas.common import Output


class Health(Output):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "unavailable"]
    broker: Literal["ok", "unavailable"]
    version: str


class Stats(Output):
    version: str
    accounts: int
    connections: dict[str, int]
    queues: dict[str, dict[str, int]] = {}
