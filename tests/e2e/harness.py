"""Running Mailgate and Playwright for a browser test: Mailgate serves on a free loopback port
(its own uvicorn, background sync and dispatcher) and one spec of ``frontend/e2e`` runs against
it, with the addresses it needs in ``E2E_*`` variables."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import uvicorn

from app.main import create_app
from tests.conftest import make_settings
from tests.servers.ports import free_port

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
BUNDLE = Path(__file__).resolve().parents[2] / "app" / "static" / "admin" / "index.html"
CHROMIUM = "/usr/bin/chromium"
PLAYWRIGHT_TIMEOUT = 600


def require_tools() -> None:
    """Fail (not skip) without the browser, the UI bundle or npx: a skipped browser test hides a
    broken admin UI."""
    missing = [
        what
        for what, ok in (
            ("Debian's chromium (apt-get install chromium)", Path(CHROMIUM).exists()),
            ("frontend/node_modules (make test runs npm ci)", (FRONTEND / "node_modules").is_dir()),
            ("the built bundle (make test builds it)", BUNDLE.is_file()),
            ("npx", shutil.which("npx") is not None),
        )
        if not ok
    ]
    if missing:
        pytest.fail("The browser test needs " + ", ".join(missing), pytrace=False)


@asynccontextmanager
async def serving_mailgate(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[str]:
    """A fresh database and a Mailgate answering on the yielded base URL until the block ends."""
    db = tmp_path / "mailgate.db"
    shutil.copyfile(sqlite_template, db)
    port = free_port()
    settings = make_settings(
        tmp_path,
        f"sqlite+aiosqlite:///{db}",
        port=port,
        poll_interval=1.0,
        reconnect_base=0.1,
        reconnect_cap=1.0,
        imap_timeout=10.0,
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if serving.done():
                serving.result()
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 30)


async def run_spec(spec: str, env: dict[str, str]) -> None:
    """Run one Playwright spec (a path under frontend/) and fail with its output when it fails."""
    process = await asyncio.create_subprocess_exec(
        "npx",
        "playwright",
        "test",
        spec,
        cwd=FRONTEND,
        env={**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1", **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), PLAYWRIGHT_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    text = output.decode(errors="replace")
    assert process.returncode == 0, f"Playwright failed:\n{text}"
