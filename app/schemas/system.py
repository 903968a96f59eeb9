"""Operational shapes: health and stats."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from app.schemas.common import Output, QueryInput
from app.schemas.documented import Connections, RedisWarnings


class Live(Output):
    status: Literal["ok"] = "ok"


class Health(Output):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "unavailable"]
    broker: Literal["ok", "unavailable"]
    version: str


NOT_REPORTED = "Not reported: always null (EmailEngine runtime details this instance does not have)."


class StatsQuery(QueryInput):
    seconds: int = Field(
        default=3600, ge=0, le=366 * 24 * 3600, description="Accepted, ignored: no event counters are kept"
    )


class Stats(Output):
    version: str
    accounts: int
    connections: Connections
    queues: dict[str, dict[str, int]] = {}
    counters: dict[str, int] = Field(default_factory=dict, description="Not collected: always empty")
    license: str | None = Field(default=None, description=NOT_REPORTED)
    node: str | None = Field(default=None, description=NOT_REPORTED)
    redis: str | None = Field(default=None, description=NOT_REPORTED)
    redisSoftware: str | None = Field(default=None, description=NOT_REPORTED)
    redisCluster: bool | None = Field(default=None, description=NOT_REPORTED)
    redisWarnings: RedisWarnings = Field(default=None, description=NOT_REPORTED)
    redisPing: float | None = Field(default=None, description=NOT_REPORTED)
    imapflow: str | None = Field(default=None, description=NOT_REPORTED)
    bullmq: str | None = Field(default=None, description=NOT_REPORTED)
    arch: str | None = Field(default=None, description=NOT_REPORTED)
    build: dict[str, Any] | None = Field(default=None, description=NOT_REPORTED)
