from __future__ import annotations

from pathlib import Path

import pytest

from app.config import ConfigError, Settings


def test_defaults() -> None:
    s = Settings.from_env({})
    assert (s.host, s.port, s.redis_url, s.log_level) == ("127.0.0.1", 3000, None, "info")
    assert s.database_url == f"sqlite+aiosqlite:///{Path('data').resolve() / 'mailgate.db'}"


def test_environment() -> None:
    s = Settings.from_env(
        {
            "MAILGATE_HOST": "0.0.0.0",
            "MAILGATE_PORT": "8080",
            "MAILGATE_DATA_DIR": "/var/lib/mg",
            "MAILGATE_REDIS_URL": "redis://127.0.0.1:6379/0",
            "MAILGATE_SECRET": "s",
            "MAILGATE_LOG_LEVEL": "DEBUG",
        }
    )
    assert (s.host, s.port, s.secret, s.log_level) == ("0.0.0.0", 8080, "s", "debug")
    assert s.database_url == "sqlite+aiosqlite:////var/lib/mg/mailgate.db"
    assert s.redis_url == "redis://127.0.0.1:6379/0"


@pytest.mark.parametrize(
    "env",
    [
        {"MAILGATE_PORT": "http"},
        {"MAILGATE_PORT": "70000"},
        {"MAILGATE_LOG_LEVEL": "loud"},
        {"MAILGATE_AUTO_MIGRATE": "perhaps"},
    ],
)
def test_bad_values(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        Settings.from_env(env)
