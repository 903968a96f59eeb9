"""Section reads on Cyrus IMAP, which numbers and answers sections on its own: the same corpus
gives the same answers by sections as from whole sources there too."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.integration import scenarios
from tests.integration.conftest import Live, seed
from tests.integration.test_message_sections import CORPUS, check_corpus
from tests.servers.cyrus import Cyrus
from tests.servers.fixtures import ImapUser


@pytest.fixture(scope="module")
def dovecot(cyrus: Cyrus) -> Iterator[Cyrus]:
    """``dovecot_user`` and the other suite fixtures, on Cyrus."""
    yield cyrus


@pytest.fixture
async def live(tmp_path: Path, sqlite_template: Path, dovecot: Cyrus) -> AsyncIterator[Live]:
    async with scenarios.running(tmp_path, sqlite_template, dovecot, poll_interval=300.0) as live:
        yield live


async def test_section_reads_match_whole_source_reads_on_cyrus(live: Live, dovecot_user: ImapUser) -> None:
    await seed(live.dovecot, dovecot_user, "INBOX", list(CORPUS.values()))
    account = await scenarios.register(live, dovecot_user, logs=True)
    await check_corpus(live, account)
