"""GET /v1/account/{account}?quota=true against a Dovecot running the quota plugin."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.conftest import Live, make_message, seed
from tests.servers.dovecot import Dovecot
from tests.servers.fixtures import ImapUser, TlsMaterial

QUOTA_MB = 10


@pytest.fixture(scope="module")
def dovecot(tmp_path_factory: pytest.TempPathFactory, tls_material: TlsMaterial) -> Iterator[Dovecot]:
    """This module's own Dovecot: the shared one runs without the quota plugin."""
    server = Dovecot(tmp_path_factory.mktemp("dovecot-quota"), spare_users=5, tls=tls_material.server,
                     quota_mb=QUOTA_MB)  # fmt: skip
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


async def test_quota_reports_storage(live: Live, dovecot: Dovecot, dovecot_user: ImapUser) -> None:
    message = make_message(body="x" * 40_000)
    await seed(dovecot, dovecot_user, "INBOX", [message])
    await live.register(dovecot_user)
    await live.wait_state("acc", "connected")
    quota = (await live.get("/v1/account/acc", quota="true"))["quota"]
    assert quota["limit"] == QUOTA_MB * 1024 * 1024
    assert len(message) <= quota["usage"] < len(message) + 1024  # counted in KiB by the server
    assert quota["status"] == f"{round(quota['usage'] * 100 / quota['limit'])}%"
    assert (await live.get("/v1/account/acc"))["quota"] is None  # only when asked for
