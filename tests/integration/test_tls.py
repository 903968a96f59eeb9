"""TLS against real servers: Dovecot with implicit TLS and STARTTLS, the aiosmtpd sink with both,
and a small TLS-terminating proxy in front of Dovecot for certificates and protocol versions that
Dovecot itself cannot be set up with (a private CA, an expired certificate, TLS 1.2 at most)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from app.mail import smtp, tls
from app.mail.imap import ConnectFailed, ImapConnection
from app.models import Setting
from tests.integration.conftest import Live, make_message, seed, wait_until
from tests.servers.ca import WRONG_NAME
from tests.servers.dovecot import Dovecot
from tests.servers.fixtures import ImapUser, TlsMaterial
from tests.servers.ports import LOCALHOST
from tests.servers.smtp import SmtpSink

USER, PASSWORD = "tls@example.com", "tlspw"
ALTNAME = "ERR_TLS_CERT_ALTNAME_INVALID"


@pytest.fixture(autouse=True)
def _verify_certificates() -> Iterator[None]:
    """``ignoreMailCertErrors`` is process-wide: start and end every test with verification on."""
    tls.policy.reset()
    yield
    tls.policy.reset()


@pytest.fixture(scope="module")
def dovecot_wrong_name(
    tmp_path_factory: pytest.TempPathFactory, tls_material: TlsMaterial
) -> Iterator[Dovecot]:
    """A Dovecot whose certificate (from the trusted CA) names only WRONG_NAME."""
    server = Dovecot(
        tmp_path_factory.mktemp("dovecot-wrong-name"), {USER: PASSWORD}, tls=tls_material.wrong_name
    )
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@contextlib.contextmanager
def _sink(context: ssl.SSLContext) -> Iterator[SmtpSink]:
    sink = SmtpSink({USER: PASSWORD}, tls=context)
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture(scope="module")
def smtp_wrong_name(tls_material: TlsMaterial) -> Iterator[SmtpSink]:
    with _sink(tls_material.wrong_name.server_context()) as sink:
        yield sink


@pytest.fixture(scope="module")
def smtp_private(tls_material: TlsMaterial) -> Iterator[SmtpSink]:
    with _sink(tls_material.private_server.server_context()) as sink:
        yield sink


@pytest.fixture(scope="module")
def smtp_tls12(tls_material: TlsMaterial) -> Iterator[SmtpSink]:
    with _sink(tls_material.server.server_context(maximum_version=ssl.TLSVersion.TLSv1_2)) as sink:
        yield sink


@contextlib.asynccontextmanager
async def tls_proxy(target: Dovecot, context: ssl.SSLContext) -> AsyncIterator[int]:
    """Terminates TLS with ``context`` on a free port and relays to Dovecot's plain listener."""
    writers: list[asyncio.StreamWriter] = []

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection(target.host, target.port)
        except OSError:
            writer.close()
            return
        writers.append(up_writer)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(relay, LOCALHOST, 0, ssl=context)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        for writer in writers:
            writer.close()


def _imap(
    host_port: tuple[str, int], secure: bool, user: str = USER, password: str = PASSWORD, **extra: Any
) -> dict[str, Any]:
    return {
        "host": host_port[0],
        "port": host_port[1],
        "secure": secure,
        "auth": {"user": user, "pass": password},
    } | extra


def _smtp(sink: SmtpSink, secure: bool = False, **extra: Any) -> dict[str, Any]:
    return {
        "host": sink.host,
        "port": sink.port,
        "secure": secure,
        "auth": {"user": USER, "pass": PASSWORD},
    } | extra


async def _verify(live: Live, **body: Any) -> dict[str, Any]:
    r = await live.client.post("/v1/verifyAccount", json=body, headers=live.headers)
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


async def _settings(live: Live, **values: Any) -> None:
    r = await live.client.post("/v1/settings", json=values, headers=live.headers)
    assert r.status_code == 200, r.text


async def _lost(conn: ImapConnection) -> bool:
    return conn.lost.is_set()


# -- the IMAP adapter ------------------------------------------------------------------------------
@pytest.mark.parametrize("secure", [True, False], ids=["implicit", "starttls"])
async def test_imap_tls_connects_and_notices_loss(
    dovecot: Dovecot, dovecot_user: ImapUser, secure: bool
) -> None:
    """The connection-loss callback works on a TLS transport, also one upgraded with STARTTLS."""
    port = dovecot.tls_port if secure else dovecot.port
    conn = ImapConnection(
        _imap((dovecot.host, port), secure, dovecot_user.email, dovecot_user.password), timeout=10
    )
    await conn.open()
    try:
        assert conn.tls_version in ("TLSv1.2", "TLSv1.3")
        assert "STARTTLS" not in conn.capabilities  # the capabilities were asked again under TLS
        assert "INBOX" in {f.path for f in await conn.list_folders()}
        dovecot.kick(dovecot_user.email)
        await wait_until(lambda: _lost(conn), 10, "a kicked TLS connection was not noticed")
    finally:
        conn.close()


async def test_imap_plain_when_the_server_offers_no_tls(dovecot_reduced: Dovecot) -> None:
    email, password = dovecot_reduced.fresh_user()
    conn = ImapConnection(
        _imap((dovecot_reduced.host, dovecot_reduced.port), False, email, password), timeout=10
    )
    await conn.open()
    try:
        assert conn.tls_version is None
        assert "INBOX" in {f.path for f in await conn.list_folders()}
    finally:
        await conn.logout()


@pytest.mark.parametrize("secure", [True, False], ids=["implicit", "starttls"])
async def test_imap_wrong_name_fails_clearly(dovecot_wrong_name: Dovecot, secure: bool) -> None:
    port = dovecot_wrong_name.tls_port if secure else dovecot_wrong_name.port
    conn = ImapConnection(_imap((dovecot_wrong_name.host, port), secure), timeout=10)
    with pytest.raises(ConnectFailed) as failed:
        await conn.open()
    assert failed.value.code == ALTNAME
    assert "Certificate verification failed" in str(failed.value) and "127.0.0.1" in str(failed.value)
    assert not conn.usable


# -- accounts --------------------------------------------------------------------------------------
async def test_account_syncs_over_implicit_tls_and_starttls(
    live: Live, dovecot: Dovecot, dovecot_user: ImapUser
) -> None:
    await seed(dovecot, dovecot_user, "INBOX", [make_message(subject="Over TLS")])
    await live.register(dovecot_user, "implicit")  # the default test settings: imaps
    starttls = live.imap_settings(dovecot_user, port=dovecot.port, secure=False)
    await live.register(dovecot_user, "starttls", imap=starttls)
    for account in ("implicit", "starttls"):
        info = await live.wait_state(account, "connected")
        assert info["lastError"] is None
        page = await live.get(f"/v1/account/{account}/messages", path="INBOX")
        assert [m["subject"] for m in page["messages"]] == ["Over TLS"]


async def test_account_with_wrong_name_certificate(live: Live, dovecot_wrong_name: Dovecot) -> None:
    """A certificate failure is a connectError with a readable lastError, not a silent retry loop."""
    user = ImapUser(USER, PASSWORD)
    host = dovecot_wrong_name.host
    await live.register(user, "bad", imap=_imap((host, dovecot_wrong_name.tls_port), True))
    info = await live.wait_state("bad", "connectError")
    assert info["lastError"]["code"] == ALTNAME, info
    assert info["lastError"]["response"].startswith("Certificate verification failed"), info

    insecure = _imap((host, dovecot_wrong_name.port), False, tls={"rejectUnauthorized": False})
    await live.register(user, "insecure", imap=insecure)
    assert (await live.wait_state("insecure", "connected"))["lastError"] is None

    named = _imap((host, dovecot_wrong_name.tls_port), True, tls={"servername": WRONG_NAME})
    await live.register(user, "named", imap=named)
    assert (await live.wait_state("named", "connected"))["lastError"] is None


async def test_verify_account_reports_certificate_errors(
    live: Live, dovecot_wrong_name: Dovecot, smtp_wrong_name: SmtpSink
) -> None:
    imap = _imap((dovecot_wrong_name.host, dovecot_wrong_name.tls_port), True)
    body = await _verify(live, imap=imap, smtp=_smtp(smtp_wrong_name))
    for side in ("imap", "smtp"):
        assert body[side]["success"] is False and body[side]["code"] == ALTNAME, body
        assert "Hostname mismatch" in body[side]["error"] or "IP address mismatch" in body[side]["error"], (
            body
        )

    tolerant = {"rejectUnauthorized": False}
    body = await _verify(live, imap=imap | {"tls": tolerant}, smtp=_smtp(smtp_wrong_name, tls=tolerant))
    assert body["imap"]["success"] is True and body["smtp"]["success"] is True, body


async def test_ignore_mail_cert_errors_setting(
    live: Live, dovecot_wrong_name: Dovecot, smtp_wrong_name: SmtpSink
) -> None:
    imap = _imap((dovecot_wrong_name.host, dovecot_wrong_name.tls_port), True)
    await _settings(live, ignoreMailCertErrors=True)
    body = await _verify(live, imap=imap, smtp=_smtp(smtp_wrong_name))
    assert body["imap"]["success"] is True and body["smtp"]["success"] is True, body
    await live.register(ImapUser(USER, PASSWORD), "tolerated", imap=imap)
    assert (await live.wait_state("tolerated", "connected"))["lastError"] is None

    await _settings(live, ignoreMailCertErrors=False)
    body = await _verify(live, imap=imap, smtp=_smtp(smtp_wrong_name))
    assert body["imap"]["code"] == ALTNAME and body["smtp"]["code"] == ALTNAME, body


async def test_private_ca_option(
    live: Live, dovecot: Dovecot, dovecot_user: ImapUser, smtp_private: SmtpSink, tls_material: TlsMaterial
) -> None:
    """``tls.ca`` trusts a CA the system store does not know."""
    async with tls_proxy(dovecot, tls_material.private_server.server_context()) as port:
        imap = _imap((LOCALHOST, port), True, dovecot_user.email, dovecot_user.password)
        body = await _verify(live, imap=imap, smtp=_smtp(smtp_private))
        # the servers send their chain up to the (unknown) root
        assert body["imap"]["code"] == "SELF_SIGNED_CERT_IN_CHAIN", body
        assert body["smtp"]["code"] == "SELF_SIGNED_CERT_IN_CHAIN", body

        trust = {"ca": tls_material.private_ca.pem}
        body = await _verify(live, imap=imap | {"tls": trust}, smtp=_smtp(smtp_private, tls=trust))
        assert body["imap"]["success"] is True and body["smtp"]["success"] is True, body


async def test_expired_certificate(
    live: Live, dovecot: Dovecot, dovecot_user: ImapUser, tls_material: TlsMaterial
) -> None:
    async with tls_proxy(dovecot, tls_material.expired.server_context()) as port:
        body = await _verify(
            live, imap=_imap((LOCALHOST, port), True, dovecot_user.email, dovecot_user.password)
        )
    assert body["imap"]["success"] is False and body["imap"]["code"] == "CERT_HAS_EXPIRED", body
    assert "expired" in body["imap"]["error"], body


async def test_min_version(
    live: Live, dovecot: Dovecot, dovecot_user: ImapUser, smtp_tls12: SmtpSink, tls_material: TlsMaterial
) -> None:
    """Servers that stop at TLS 1.2 are refused when the account asks for TLS 1.3."""
    context = tls_material.server.server_context(maximum_version=ssl.TLSVersion.TLSv1_2)
    async with tls_proxy(dovecot, context) as port:
        imap = _imap((LOCALHOST, port), True, dovecot_user.email, dovecot_user.password)
        strict = {"minVersion": "TLSv1.3"}
        body = await _verify(live, imap=imap | {"tls": strict}, smtp=_smtp(smtp_tls12, tls=strict))
        for side in ("imap", "smtp"):
            assert body[side]["success"] is False and body[side]["code"] == "ETLS", body
        relaxed = {"minVersion": "TLSv1.2"}
        body = await _verify(live, imap=imap | {"tls": relaxed}, smtp=_smtp(smtp_tls12, tls=relaxed))
        assert body["imap"]["success"] is True and body["smtp"]["success"] is True, body


async def test_ca_must_be_pem(live: Live, dovecot_user: ImapUser) -> None:
    imap = live.imap_settings(dovecot_user, tls={"ca": "not a certificate"})
    body = {"account": "pem", "name": "PEM", "email": dovecot_user.email, "imap": imap}
    r = await live.client.post("/v1/account", json=body, headers=live.headers)
    assert r.status_code == 400, r.text
    assert "PEM" in r.text


# -- SMTP ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("implicit", [True, False], ids=["implicit", "starttls"])
async def test_smtp_delivers_over_tls(smtp_sink: SmtpSink, smtp_sink_tls: SmtpSink, implicit: bool) -> None:
    sink = smtp_sink_tls if implicit else smtp_sink
    cfg = {"host": sink.host, "port": sink.port, "secure": implicit}
    result = await smtp.send(cfg, "a@example.com", ["b@example.com"], make_message())
    assert result.accepted == ["b@example.com"]
    (received,) = await sink.wait_for(1)
    assert received.tls_version in ("TLSv1.2", "TLSv1.3")


def test_contexts_are_shared_per_distinct_settings(tls_material: TlsMaterial) -> None:
    """Building a context loads the CA store (tens of ms): equal settings must share one."""
    strict = tls.context({"minVersion": "TLSv1.2", "servername": WRONG_NAME})
    assert tls.context({"servername": WRONG_NAME, "minVersion": "TLSv1.2"}) is strict
    assert tls.context({"minVersion": "TLSv1.2"}) is not strict
    assert tls.context({"ca": tls_material.private_ca.pem}) is tls.context(
        {"ca": tls_material.private_ca.pem}
    )
    lax = tls.context({"minVersion": "TLSv1.2", "servername": WRONG_NAME}, ignore_cert_errors=True)
    assert lax.verify_mode == ssl.CERT_NONE and strict.verify_mode == ssl.CERT_REQUIRED


async def test_ignore_mail_cert_errors_changed_by_another_process(
    live: Live, dovecot_wrong_name: Dovecot
) -> None:
    """A change written by another process is seen here within a second or so, at the next connect."""
    imap = _imap((dovecot_wrong_name.host, dovecot_wrong_name.tls_port), True)
    await _settings(live, ignoreMailCertErrors=True)
    assert (await _verify(live, imap=imap))["imap"]["success"] is True
    async with live.ctx.db.session() as s:  # what POST /v1/settings in another process would store
        row = await s.get(Setting, "ignoreMailCertErrors")
        assert row is not None
        row.value = False
        await s.commit()

    async def verifying_again() -> bool:
        return (await _verify(live, imap=imap))["imap"]["code"] == ALTNAME

    await wait_until(verifying_again, 10, "the stored ignoreMailCertErrors=false was never read")
