"""The admin UI in a real browser: a running Mailgate (its own uvicorn, background sync, webhook
dispatcher) against the test Dovecot, SMTP sink and a webhook receiver, driven by Playwright
(Debian's chromium) through ``frontend/e2e``. The browser steps are in ``admin.spec.ts``."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from email.message import EmailMessage
from pathlib import Path

import pytest
import uvicorn

from app.main import create_app
from tests.conftest import make_settings
from tests.servers.dovecot import Dovecot, append_messages
from tests.servers.fixtures import DOVECOT_USERS, ImapUser
from tests.servers.ports import free_port
from tests.servers.receiver import Receiver
from tests.servers.smtp import SmtpSink

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
BUNDLE = Path(__file__).resolve().parents[2] / "app" / "static" / "admin" / "index.html"
CHROMIUM = "/usr/bin/chromium"
PLAYWRIGHT_TIMEOUT = 600


def seeded_message() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Carol Sender <carol@example.com>"
    msg["To"] = "someone@example.com"
    msg["Subject"] = "Quarterly report"
    msg["Message-ID"] = "<e2e-report@example.com>"
    msg.set_content("Hello from the end-to-end test.\nThe numbers are attached.\n")
    msg.add_attachment(b"a,b\n1,2\n", maintype="text", subtype="csv", filename="numbers.csv")
    return msg.as_bytes()


def _require_tools() -> None:
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


async def test_admin_ui_in_a_browser(
    tmp_path: Path,
    sqlite_template: Path,
    dovecot: Dovecot,
    dovecot_user: ImapUser,
    smtp_sink: SmtpSink,
) -> None:
    _require_tools()
    await append_messages(
        dovecot.host, dovecot.port, dovecot_user.email, dovecot_user.password, "INBOX", [seeded_message()]
    )
    receiver = Receiver()
    await receiver.start()
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
        env = {
            **os.environ,
            "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1",
            "E2E_BASE_URL": f"http://127.0.0.1:{port}",
            "E2E_IMAP_HOST": dovecot.host,
            "E2E_IMAP_PORT": str(dovecot.tls_port),
            "E2E_IMAP_USER": dovecot_user.email,
            "E2E_IMAP_PASS": dovecot_user.password,
            "E2E_SMTP_HOST": smtp_sink.host,
            "E2E_SMTP_PORT": str(smtp_sink.port),
            # The sink knows only the fixed users, not the fresh IMAP one.
            "E2E_SMTP_USER": "alice@example.com",
            "E2E_SMTP_PASS": DOVECOT_USERS["alice@example.com"],
            "E2E_WEBHOOK_URL": receiver.url,
        }
        process = await asyncio.create_subprocess_exec(
            "npx",
            "playwright",
            "test",
            cwd=FRONTEND,
            env=env,
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
        events = {json.loads(hit.body)["event"] for hit in receiver.hits}
        assert {"test", "accountAdded"} <= events, events
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 30)
        await receiver.stop()
