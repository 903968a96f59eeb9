"""Submit's EmailEngine fields around stored messages, against Dovecot and a real SMTP server:
attachments copied by id, the reference options (Message-ID check, a missing original, forwarded
attachments) and what the answer says about the reference; the Date header's time zone."""

from __future__ import annotations

import base64
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pytest

from app.schemas.messages import UploadReferenceResult
from app.services import message_upload
from tests.integration import test_sending
from tests.integration.conftest import make_message, seed
from tests.integration.test_messages_api import PNG, rich_message
from tests.integration.test_sending import Outbox, parse

outbox = test_sending.outbox  # the fixture, shared with the other sending tests
TO = [{"address": "fw@example.net"}]


async def _rich(outbox: Outbox) -> dict[str, Any]:
    """The account, with rich_message (an inline logo and a PDF) as the only message in INBOX."""
    await seed(outbox.live.dovecot, outbox.user, "INBOX", [rich_message()])
    await outbox.account()
    [listed] = (await outbox.live.get("/v1/account/acc/messages", path="INBOX"))["messages"]
    return dict(listed)


def _offset(data: bytes) -> timedelta | None:
    """The UTC offset the message's Date header is written with."""
    return parsedate_to_datetime(str(parse(data)["Date"])).utcoffset()


def _files(data: bytes) -> dict[str, bytes]:
    return {
        str(p.get_filename()): p.get_payload(decode=True)  # type: ignore[misc]
        for p in parse(data).walk()
        if p.get_filename()
    }


async def test_attachments_are_copied_from_stored_messages_by_id(outbox: Outbox) -> None:
    stored = await _rich(outbox)
    pdf = next(a for a in stored["attachments"] if a["contentType"] == "application/pdf")
    answer = await outbox.submit(
        {
            "to": TO,
            "subject": "The report",
            "text": "Attached",
            "attachments": [
                {"reference": pdf["id"]},
                {"reference": pdf["id"], "filename": "renamed.pdf"},
                {"content": base64.b64encode(b"given").decode(), "filename": "given.txt"},
            ],
        }
    )
    assert "reference" not in answer  # no reference given, none reported
    files = _files((await outbox.sink.wait_for(1))[0].data)
    assert files == {
        "Bericht äöü.pdf": b"%PDF-1.4 fake",
        "renamed.pdf": b"%PDF-1.4 fake",
        "given.txt": b"given",
    }

    # A mail merge reads it once and attaches it to every entry.
    merge = [{"to": {"address": f"m{i}@example.net"}} for i in range(2)]
    merged = await outbox.submit({"subject": "Hi", "text": "x", "mailMerge": merge, "attachments": [{"reference": pdf["id"]}]})  # fmt: skip
    assert [r["success"] for r in merged["mailMerge"]] == [True, True]
    for got in (await outbox.sink.wait_for(3))[1:]:
        assert _files(got.data) == {"Bericht äöü.pdf": b"%PDF-1.4 fake"}

    for bad in (pdf["id"][:-2] + "zz", "not-an-id"):
        error = await outbox.submit({"to": TO, "text": "x", "attachments": [{"reference": bad}]}, status=404)
        assert error["code"] == "AttachmentNotFound" and error["statusCode"] == 404
    both = {"reference": pdf["id"], "content": base64.b64encode(b"x").decode()}
    error = await outbox.submit({"to": TO, "text": "x", "attachments": [both]}, status=400)
    assert error["code"] == "InvalidRequest" and "attachments" in str(error["details"])
    assert len(outbox.sink.messages) == 3


async def test_reference_answer_message_id_check_and_missing_original(outbox: Outbox) -> None:
    stored = await _rich(outbox)
    reply = {"message": stored["id"], "action": "reply", "messageId": "<rich-1@example.org>"}
    answer = await outbox.submit({"reference": reply, "text": "Thanks"})
    assert answer["reference"] == {
        "message": stored["id"],
        "threadId": stored["threadId"],
        "success": True,
        "error": None,
    }
    sent = parse((await outbox.sink.wait_for(1))[0].data)
    assert sent["In-Reply-To"] == "<rich-1@example.org>"

    wrong = {**reply, "messageId": "<other@example.org>"}
    error = await outbox.submit({"reference": wrong, "text": "x"}, status=400)
    assert error["code"] == "MessageIdMismatch" and "reference.messageId" in error["details"]

    gone = {"message": stored["id"][:-4] + "AAAA", "action": "reply"}
    error = await outbox.submit({"reference": gone, "to": TO, "text": "x"}, status=404)
    assert error["code"] == "MessageNotFound"
    answer = await outbox.submit({"reference": {**gone, "ignoreMissing": True}, "to": TO, "subject": "Anyway", "text": "x"})  # fmt: skip
    assert answer["reference"]["success"] is False and answer["reference"]["error"]
    assert answer["reference"]["message"] == gone["message"] and answer["queueId"]
    sent = parse((await outbox.sink.wait_for(2))[1].data)
    assert sent["Subject"] == "Anyway" and sent["In-Reply-To"] is None and sent["References"] is None
    assert len(outbox.sink.messages) == 2


async def test_forward_inline_attaches_files_only_when_asked(outbox: Outbox) -> None:
    stored = await _rich(outbox)
    forward = {"message": stored["id"], "action": "forward", "inline": True}
    await outbox.submit({"reference": forward, "to": TO, "html": "<p>FYI</p>"})
    first = (await outbox.sink.wait_for(1))[0].data
    assert _files(first) == {"logo.png": PNG}  # the image the quoted HTML shows, not the PDF
    await outbox.submit({"reference": {**forward, "forwardAttachments": True}, "to": TO, "html": "<p>FYI</p>"})  # fmt: skip
    second = (await outbox.sink.wait_for(2))[1].data
    assert _files(second) == {"logo.png": PNG, "Bericht äöü.pdf": b"%PDF-1.4 fake"}


async def test_time_zone_of_the_date_header_and_ignored_fields(outbox: Outbox) -> None:
    await seed(outbox.live.dovecot, outbox.user, "INBOX", [make_message("hello")])
    await outbox.account()
    r = await outbox.live.client.post(
        "/v1/account/acc/submit",
        params={"documentStore": "true", "useStructuredFormat": "false"},
        json={"to": TO, "text": "x", "tz": "Asia/Kolkata", "locale": "et", "dryRun": True},
        headers=outbox.live.headers,
    )
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["preview"] == answer["raw"] and "reference" not in answer
    assert _offset(base64.b64decode(answer["raw"])) == timedelta(hours=5, minutes=30)
    plain = await outbox.submit({"to": TO, "text": "x", "dryRun": True})
    assert _offset(base64.b64decode(plain["raw"])) == timedelta(0)

    for zone in ("Mars/Olympus", "../etc/passwd", "", "UTC\n"):
        error = await outbox.submit({"to": TO, "text": "x", "tz": zone}, status=400)
        assert error["code"] == "InvalidRequest" and "tz" in error["details"], zone
    queued = await outbox.submit({"to": TO, "text": "x", "tz": "America/New_York"})
    sent = parse((await outbox.sink.wait_for(1))[0].data)
    assert sent["Message-ID"] == queued["messageId"]
    assert _offset((await outbox.sink.wait_for(1))[0].data) in (timedelta(hours=-5), timedelta(hours=-4))


async def test_stored_message_fields_need_imap_access(outbox: Outbox) -> None:
    """As reading a message would: a JSON error, not a crash, and nothing is sent."""
    await outbox.account(imap=False)
    reply = {"to": TO, "text": "x", "reference": {"message": "AAAAAQAAAAE", "ignoreMissing": True}}
    error = await outbox.submit(reply, status=503)
    assert error["code"] == "NotSyncing" and error["statusCode"] == 503
    attachment = {"to": TO, "text": "x", "attachments": [{"reference": "AAAAAQAAAAEAAAAB"}]}
    error = await outbox.submit(attachment, status=404)
    assert error["code"] == "AttachmentNotFound"
    assert outbox.sink.messages == []


async def test_graphql_submit_takes_the_same_fields_and_answers_the_reference(outbox: Outbox) -> None:
    stored = await _rich(outbox)
    pdf = next(a for a in stored["attachments"] if a["contentType"] == "application/pdf")
    mutation = """mutation($input: SubmitInput!) { submitMessage(account: "acc", input: $input) {
      response queueId preview raw reference { message threadId success error } } }"""
    missing = stored["id"][:-4] + "AAAA"
    given: dict[str, Any] = {
        "to": TO,
        "text": "x",
        "tz": "Asia/Kolkata",
        "attachments": [{"reference": pdf["id"]}],
        "reference": {"message": missing, "ignoreMissing": True},
    }
    r = await outbox.live.client.post(
        "/graphql",
        json={"query": mutation, "variables": {"input": given | {"dryRun": True}}},
        headers=outbox.live.headers,
    )
    assert r.status_code == 200 and not r.json().get("errors"), r.text
    answer = r.json()["data"]["submitMessage"]
    assert answer["preview"] == answer["raw"] and answer["queueId"] is None
    assert answer["reference"]["success"] is False and answer["reference"]["message"] == missing
    built = base64.b64decode(answer["raw"])
    assert _files(built) == {"Bericht äöü.pdf": b"%PDF-1.4 fake"}
    assert _offset(built) == timedelta(hours=5, minutes=30)


async def test_a_mail_merge_reads_the_referenced_message_once(
    outbox: Outbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = await _rich(outbox)
    reads: list[str] = []
    read = message_upload.referenced

    async def counted(*args: Any) -> tuple[bytes | None, UploadReferenceResult]:
        reads.append(args[-1].message)
        return await read(*args)

    monkeypatch.setattr(message_upload, "referenced", counted)
    merge = [{"to": {"address": f"r{i}@example.net"}} for i in range(3)]
    reply = {"message": stored["id"], "action": "reply", "messageId": "<rich-1@example.org>"}
    answer = await outbox.submit({"reference": reply, "text": "Thanks", "mailMerge": merge})
    assert [r["success"] for r in answer["mailMerge"]] == [True] * 3 and reads == [stored["id"]]
    sent = await outbox.sink.wait_for(3)
    assert {parse(m.data)["In-Reply-To"] for m in sent} == {"<rich-1@example.org>"}

    wrong = {**reply, "messageId": "<other@example.org>"}
    answer = await outbox.submit({"reference": wrong, "text": "x", "mailMerge": merge})
    assert [r["code"] for r in answer["mailMerge"]] == ["MessageIdMismatch"] * 3 and len(reads) == 2
