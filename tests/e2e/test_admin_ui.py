"""The admin UI in a real browser: a running Mailgate (its own uvicorn, background sync, webhook
dispatcher) against the test Dovecot, SMTP sink and a webhook receiver, driven by Playwright
(Debian's chromium) through ``frontend/e2e``. The browser steps are in ``admin.spec.ts``."""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path

from tests.e2e.harness import require_tools, run_spec, serving_mailgate
from tests.servers.dovecot import Dovecot, append_messages
from tests.servers.fixtures import DOVECOT_USERS, ImapUser
from tests.servers.receiver import Receiver
from tests.servers.smtp import SmtpSink


def seeded_message() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Carol Sender <carol@example.com>"
    msg["To"] = "someone@example.com"
    msg["Subject"] = "Quarterly report"
    msg["Message-ID"] = "<e2e-report@example.com>"
    msg.set_content("Hello from the end-to-end test.\nThe numbers are attached.\n")
    msg.add_attachment(b"a,b\n1,2\n", maintype="text", subtype="csv", filename="numbers.csv")
    return msg.as_bytes()


async def test_admin_ui_in_a_browser(
    tmp_path: Path,
    sqlite_template: Path,
    dovecot: Dovecot,
    dovecot_user: ImapUser,
    smtp_sink: SmtpSink,
) -> None:
    require_tools()
    await append_messages(
        dovecot.host, dovecot.port, dovecot_user.email, dovecot_user.password, "INBOX", [seeded_message()]
    )
    receiver = Receiver()
    await receiver.start()
    try:
        async with serving_mailgate(tmp_path, sqlite_template) as base_url:
            await run_spec(
                "e2e/admin.spec.ts",
                {
                    "E2E_BASE_URL": base_url,
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
                },
            )
        events = {json.loads(hit.body)["event"] for hit in receiver.hits}
        assert {"test", "accountAdded"} <= events, events
    finally:
        await receiver.stop()
