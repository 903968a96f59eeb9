"""App fixtures: a migrated database per test (SQLite, or PostgreSQL for the API suite) and an HTTP client."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

from app.config import Settings
from app.db import migrate_sync
from app.main import create_app
from app.services import tokens
from app.services.context import Context
from app.services.principal import OPERATOR

TEST_SECRET = "test-secret-not-for-production"


def all_tables() -> str:
    """Every table of the schema, for a TRUNCATE between tests: a row any test leaves behind (a
    setting such as ``trackOpens``, a template) must not change what the next one does."""
    return ", ".join(t.name for t in SQLModel.metadata.sorted_tables)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate once, copy per test: a fresh database costs a file copy, not a migration run."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate_sync(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url(postgres_server) -> str:  # type: ignore[no-untyped-def]
    url: str = postgres_server.create_database("mailgate_test")
    # In a thread: Alembic's env runs its own event loop, and this may be requested from a running one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(migrate_sync, url).result()
    return url


def make_settings(tmp_path: Path, database_url: str, **overrides: object) -> Settings:
    base = Settings(
        data_dir=tmp_path / "data", database_url=database_url, secret=TEST_SECRET, auto_migrate=False
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    """API tests run once per database backend."""
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path, sqlite_template: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        path = tmp_path / "mailgate.db"
        shutil.copyfile(sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


@pytest.fixture
async def ctx(settings: Settings, backend: str) -> AsyncIterator[Context]:
    context = Context.from_settings(settings)
    if backend == "postgres":
        async with context.db.engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {all_tables()} RESTART IDENTITY CASCADE"))
    yield context
    await context.close()


@pytest.fixture
def app(ctx: Context):  # type: ignore[no-untyped-def]
    return create_app(ctx=ctx)


@pytest.fixture
async def client(app) -> AsyncIterator[httpx2.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://mailgate.test") as c:
        yield c


@pytest.fixture
async def system_token(ctx: Context) -> str:
    value, _ = await tokens.issue(ctx, OPERATOR, description="tests", scopes=["*"], account=None)
    return value


@pytest.fixture
def auth(system_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {system_token}"}


@pytest.fixture
def imap_settings() -> Iterator[dict[str, object]]:
    yield {"host": "127.0.0.1", "port": 993, "secure": True, "auth": {"user": "alice", "pass": "alicepw"}}
