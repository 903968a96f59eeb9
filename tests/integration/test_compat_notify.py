"""messageNew with EmailEngine's notify* settings, from a real mailbox to a real receiver:
all headers, web-safe HTML, attachment contents up to a size, calendar events."""

from __future__ import annotations

import base64
import json
from email.message import EmailMessage
from email.utils import make_msgid

from app.tasks import webhooks as webhook_tasks
from app.tasks.broker import broker
from app.webhooks.dispatcher import Dispatcher
from tests.integration.conftest import Live, seed
from tests.servers.fixtures import ImapUser
from tests.servers.receiver import Receiver

SMALL = bytes(range(256)) * 2  # 512 bytes
LARGE = b"L" * 8000
INVITE = (
    "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nSUMMARY:Review\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def _message() -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "s@example.org", "r@example.com", "notify all"
    msg["Message-ID"] = make_msgid(domain="example.org")
    msg["X-Custom"] = "kept"
    msg.set_content("plain body")
    msg.add_alternative('<p onclick="steal()">hello<script>alert(1)</script></p>', subtype="html")
    msg.add_attachment(SMALL, maintype="application", subtype="octet-stream", filename="small.bin")
    msg.add_attachment(LARGE, maintype="application", subtype="octet-stream", filename="large.bin")
    msg.add_attachment(INVITE, subtype="calendar", filename="invite.ics", params={"method": "REQUEST"})
    return msg.as_bytes()


async def test_notify_settings_shape_message_new(live: Live, dovecot_user: ImapUser) -> None:
    receiver = Receiver()
    await receiver.start()
    broker.state.ctx = live.ctx
    await broker.startup()
    dispatcher = Dispatcher(live.ctx, webhook_tasks.kick, tick=0.2)
    await dispatcher.start()
    try:
        settings = {
            "webhooksEnabled": True,
            "webhooks": receiver.url,
            "webhookEvents": ["messageNew"],
            "notifyText": True,
            "notifyWebSafeHtml": True,
            "notifyHeaders": ["*"],
            "notifyAttachments": True,
            "notifyAttachmentSize": 4096,
            "notifyCalendarEvents": True,
        }
        r = await live.client.post("/v1/settings", headers=live.headers, json=settings)
        assert r.status_code == 200, r.text
        await live.register(dovecot_user)
        await live.wait_state("acc", "connected")
        await seed(live.dovecot, dovecot_user, "INBOX", [_message()])
        data = json.loads((await receiver.wait_for(1, timeout=15))[0].body)["data"]
        html = data["text"]["html"]
        assert "hello" in html and "<script" not in html and "onclick" not in html
        assert data["text"]["webSafe"] is True and data["text"]["plain"].strip() == "plain body"
        assert data["headers"]["x-custom"] == ["kept"] and "message-id" in data["headers"]
        files = {a["filename"]: a for a in data["attachments"]}
        assert base64.b64decode(files["small.bin"]["content"]) == SMALL
        assert "content" not in files["large.bin"]  # larger than notifyAttachmentSize
        [event] = data["calendarEvents"]
        assert event["method"] == "REQUEST" and event["content"].replace("\r\n", "\n") == INVITE.replace(
            "\r\n", "\n"
        )
    finally:
        await dispatcher.stop()
        await broker.shutdown()
        await receiver.stop()
