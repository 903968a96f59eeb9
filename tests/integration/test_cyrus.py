"""The sync engine and the API against Cyrus IMAP: ``.`` as separator, every folder under
``INBOX.``, and no special-use flags, so Sent, Trash and the rest are known only by name."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from app.sync import worker
from tests.integration import scenarios
from tests.integration.conftest import Live, seed
from tests.integration.scenarios import Folders
from tests.integration.test_message_sections import CORPUS, check_corpus
from tests.servers.cyrus import Cyrus
from tests.servers.fixtures import ImapUser
from tests.servers.smtp import SmtpSink

FOLDERS = Folders(
    sent="INBOX.Sent", drafts="INBOX.Drafts", trash="INBOX.Trash", junk="INBOX.Spam", archive="INBOX.Archive"
)


@pytest.fixture(scope="module")
def dovecot(cyrus: Cyrus) -> Iterator[Cyrus]:
    """``dovecot_user`` and the other suite fixtures, on Cyrus."""
    yield cyrus


@pytest.fixture
async def live(tmp_path: Path, sqlite_template: Path, dovecot: Cyrus) -> AsyncIterator[Live]:
    async with scenarios.running(tmp_path, sqlite_template, dovecot, poll_interval=300.0) as live:
        yield live


async def test_special_folders_by_name(live: Live, dovecot_user: ImapUser) -> None:
    await scenarios.roles_by_name(live, dovecot_user, FOLDERS)


async def test_old_mail_is_not_announced_and_new_mail_is_found_fast(
    live: Live, dovecot_user: ImapUser
) -> None:
    delays = await scenarios.old_mail_is_not_announced(live, dovecot_user, FOLDERS)
    print(f"messageNew delays: INBOX {delays['inbox']:.2f}s, INBOX.Archive {delays['other']:.2f}s")


async def test_subconnections_watch_folders_with_idle(
    live: Live, dovecot_user: ImapUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker, "STATUS_SWEEP", 300.0, raising=False)
    delay = await scenarios.subconnection_gets_idle(live, dovecot_user, FOLDERS)
    print(f"messageNew delay in a subconnection folder: {delay:.2f}s")


async def test_changes_by_another_client(live: Live, dovecot_user: ImapUser) -> None:
    await scenarios.external_changes(live, dovecot_user, FOLDERS)


async def test_sent_copy(live: Live, smtp_sink: SmtpSink, dovecot_user: ImapUser) -> None:
    outbox = scenarios.fast_outbox(live, smtp_sink, dovecot_user)
    await outbox.start()
    try:
        await scenarios.sent_copy_lands_in_sent(outbox, FOLDERS)
    finally:
        await outbox.stop()


async def test_section_reads_match_whole_source_reads(live: Live, dovecot_user: ImapUser) -> None:
    """Cyrus numbers and answers sections on its own: the same corpus gives the same answers by
    sections as from whole sources there too."""
    await seed(live.dovecot, dovecot_user, "INBOX", list(CORPUS.values()))
    account = await scenarios.register(live, dovecot_user, logs=True)
    await check_corpus(live, account)
