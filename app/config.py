"""Settings read once from the environment (``MAILGATE_*``); nothing else reads ``os.environ``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

N = TypeVar("N", int, float)


class ConfigError(ValueError):
    """An environment variable holds a value Mailgate cannot use."""


def _number(
    env: Mapping[str, str], name: str, default: N, low: float, high: float, kind: type[N], what: str
) -> N:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be {what}, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _int(env: Mapping[str, str], name: str, default: int, low: int = 0, high: int = 2**31) -> int:
    return _number(env, name, default, low, high, int, "an integer")


def _float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    return _number(env, name, default, low, high, float, "a number")


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _schedule(env: Mapping[str, str], name: str) -> tuple[float, ...] | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        values = tuple(float(x) for x in raw.split(","))
    except ValueError:
        raise ConfigError(f"{name} must be comma-separated seconds, got {raw!r}") from None
    if not values or any(v < 0 for v in values) or len(values) > 50:
        raise ConfigError(f"{name} must list 1-50 non-negative delays")
    return values


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 3000
    data_dir: Path = field(default_factory=lambda: Path("data"))
    database_url: str = ""
    redis_url: str | None = None
    secret: str | None = None
    log_level: str = "info"
    max_body_size: int = 25 * 1024 * 1024
    auth_failures_per_minute: int = 30
    auto_migrate: bool = True
    sync: bool = True  # run the account supervisor in this process
    poll_interval: float = 30.0  # seconds between STATUS checks of folders other than INBOX
    imap_timeout: float = 30.0
    reconnect_base: float = 1.0
    reconnect_cap: float = 300.0
    lease_seconds: float = 30.0
    # Seconds between webhook attempts: 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, then 8 h,
    # so the last of the 12 attempts comes ~32 h after the first.
    webhook_backoff: tuple[float, ...] = (5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 28800, 28800)
    webhook_allow_link_local: bool = False
    webhook_timeout: float = 15.0
    # Sending: attempt n waits send_retry_base * 2**(n-1) seconds (±10 %), at most send_retry_cap.
    send_retry_base: float = 5.0
    send_retry_cap: float = 3600.0
    smtp_timeout: float = 60.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(env.get("MAILGATE_DATA_DIR", "").strip() or "data")
        database_url = env.get("MAILGATE_DATABASE_URL", "").strip() or (
            f"sqlite+aiosqlite:///{data_dir.resolve() / 'mailgate.db'}"
        )
        log_level = (env.get("MAILGATE_LOG_LEVEL", "").strip() or "info").lower()
        if log_level not in ("critical", "error", "warning", "info", "debug"):
            raise ConfigError(
                f"MAILGATE_LOG_LEVEL must be one of debug/info/warning/error, got {log_level!r}"
            )
        return cls(
            host=env.get("MAILGATE_HOST", "").strip() or "127.0.0.1",
            port=_int(env, "MAILGATE_PORT", 3000, 0, 65535),
            data_dir=data_dir,
            database_url=database_url,
            redis_url=env.get("MAILGATE_REDIS_URL", "").strip() or None,
            secret=env.get("MAILGATE_SECRET", "").strip() or None,
            log_level=log_level,
            max_body_size=_int(env, "MAILGATE_MAX_BODY_SIZE", 25 * 1024 * 1024, 1024),
            auth_failures_per_minute=_int(env, "MAILGATE_AUTH_FAILURES_PER_MINUTE", 30, 0),
            auto_migrate=_bool(env, "MAILGATE_AUTO_MIGRATE", True),
            sync=_bool(env, "MAILGATE_SYNC", True),
            poll_interval=_int(env, "MAILGATE_POLL_INTERVAL", 30, 1, 86400),
            imap_timeout=_int(env, "MAILGATE_IMAP_TIMEOUT", 30, 1, 3600),
            reconnect_cap=_int(env, "MAILGATE_RECONNECT_MAX", 300, 1, 86400),
            webhook_backoff=_schedule(env, "MAILGATE_WEBHOOK_BACKOFF") or cls.webhook_backoff,
            webhook_allow_link_local=_bool(env, "MAILGATE_WEBHOOK_ALLOW_LINK_LOCAL", False),
            webhook_timeout=_int(env, "MAILGATE_WEBHOOK_TIMEOUT", 15, 1, 300),
            send_retry_base=_float(env, "MAILGATE_SEND_RETRY_BASE", 5.0, 0.01, 86400),
            smtp_timeout=_float(env, "MAILGATE_SMTP_TIMEOUT", 60.0, 1, 600),
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
