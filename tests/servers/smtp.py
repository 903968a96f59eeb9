"""An in-process SMTP sink (aiosmtpd ``Controller``) with scriptable failures.

The controller runs its own event loop in a thread; accepted messages are appended to
:attr:`SmtpSink.messages` under a lock, and :meth:`SmtpSink.wait_for` wakes waiting
coroutines of *any* loop via ``call_soon_threadsafe``.

Behaviour (read per command, so tests may flip it at any time):

* ``mode``: ``"accept"`` (250), ``"tempfail"`` (451 4.3.0 after DATA), ``"reject"``
  (554 5.7.1 after DATA) or ``"drop"`` (the connection is closed once the DATA payload
  has been received, without any reply).
* recipients starting with ``nouser@`` get ``550 5.1.1``, ``greylist@`` get ``450 4.2.0``.
* ``require_auth``: MAIL/RCPT/DATA need AUTH first (530 otherwise). AUTH PLAIN/LOGIN are
  checked against ``users``; AUTH XOAUTH2 is offered when ``xoauth2_tokens`` (token to
  user) or ``xoauth2_check`` (``(user, token) -> bool``, e.g. asking an OAuth2 provider)
  is not None; the check wins when both are set. It runs on the sink's thread.

* ``stall_at``: ``"DATA"`` (the payload is received but neither accepted nor answered) or
  ``"QUIT"`` (a message was accepted; the goodbye is never answered): the sink sets
  :attr:`SmtpSink.stalled` and stays silent until the client goes away or ``stall_at`` is
  changed. For crash tests.

TLS (fixed at construction): with a server ``tls`` context the sink offers STARTTLS, or, with
``implicit_tls``, speaks TLS from the first byte (what port 465 does).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.servers.ports import LOCALHOST, free_port

__all__ = ["Mode", "Received", "SmtpSink"]

Mode = Literal["accept", "tempfail", "reject", "drop"]
_MODES: frozenset[str] = frozenset({"accept", "tempfail", "reject", "drop"})


@dataclass(frozen=True)
class Received:
    """One accepted message."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    auth_login: str | None = None
    mail_options: list[str] = field(default_factory=list)
    #: The TLS version of the session ("TLSv1.3"), None for a plain one.
    tls_version: str | None = None
    #: The name the client gave with EHLO/HELO.
    ehlo_name: str | None = None
    #: When the message was accepted (a test can check that nothing was sent too early).
    accepted_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class _NoiseFilter(logging.Filter):
    """Drop aiosmtpd's per-connection deprecation/config warnings."""

    _NOISE = ("login_data is deprecated",)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(noise in message for noise in self._NOISE)


_noise_filter = _NoiseFilter()
_mail_log = logging.getLogger("mail.log")
if _noise_filter not in _mail_log.filters:
    _mail_log.addFilter(_noise_filter)


def _login_of(auth_data: Any) -> str | None:
    if isinstance(auth_data, LoginPassword):
        login = auth_data.login
        return login.decode("utf-8", "replace") if isinstance(login, bytes) else str(login)
    if isinstance(auth_data, str):
        return auth_data
    return None


def _tls_version(transport: Any) -> str | None:
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    return ssl_object.version() if isinstance(ssl_object, ssl.SSLObject | ssl.SSLSocket) else None


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        local = address.lower()
        if local.startswith("nouser@"):
            return "550 5.1.1 No such user"
        if local.startswith("greylist@"):
            return "450 4.2.0 Greylisted, try again later"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def _stall(self, command: str) -> None:
        if self.sink.stall_at == command:
            self.sink.stalled.set()
            while self.sink.stall_at == command:  # ends early if the client disconnects
                await asyncio.sleep(0.01)

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await self._stall("QUIT")
        return "221 Bye"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await self._stall("DATA")
        mode = self.sink.mode
        if mode == "tempfail":
            return "451 4.3.0 Temporary failure, try again later"
        if mode == "reject":
            return "554 5.7.1 Message rejected"
        if mode == "drop":
            if isinstance(server.transport, asyncio.Transport):
                server.transport.abort()
            return "421 4.4.2 dropped"  # never reaches the client
        raw = envelope.original_content
        if raw is None:
            content = envelope.content
            raw = content.encode("utf-8", "surrogateescape") if isinstance(content, str) else content
        received = Received(
            mail_from=envelope.mail_from or "",
            rcpt_tos=list(envelope.rcpt_tos),
            data=bytes(raw or b""),
            auth_login=_login_of(session.auth_data),
            mail_options=list(envelope.mail_options),
            tls_version=_tls_version(server.transport),
            ehlo_name=session.host_name,
        )
        self.sink._record(received)
        return f"250 2.0.0 Queued as SINK{len(self.sink.messages)}"

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        # aiosmtpd passes args == ["XOAUTH2", "<b64>"] (initial response) or ["XOAUTH2"]
        if len(args) > 1:  # SASL initial response, still base64
            try:
                raw = base64.b64decode(args[1], validate=True)
            except (binascii.Error, ValueError):
                return AuthResult(success=False, handled=False)
        else:  # challenge_auth() returns the client's answer already base64-decoded
            answer = await server.challenge_auth("", encode_to_b64=False)
            if not isinstance(answer, bytes):  # MISSING: aborted or bad base64, 501 already sent
                return AuthResult(success=False, handled=True)
            raw = answer
        text = raw.decode("utf-8", "replace")
        fields = dict(part.split("=", 1) for part in text.split("\x01") if "=" in part)
        return self._bearer(fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer "))

    async def auth_OAUTHBEARER(self, server: SMTP, args: list[str]) -> AuthResult:
        """RFC 7628: ``n,a=<user>,^Ahost=...^Aport=...^Aauth=Bearer <token>^A^A`` (initial response only)."""
        try:
            text = (
                base64.b64decode(args[1], validate=True).decode("utf-8", "replace") if len(args) > 1 else ""
            )
        except (binascii.Error, ValueError):
            return AuthResult(success=False, handled=False)
        header, _, rest = text.partition("\x01")
        user = next((p[2:] for p in header.split(",") if p.startswith("a=")), "")
        user = user.replace("=2C", ",").replace("=3D", "=")
        fields = dict(part.split("=", 1) for part in rest.split("\x01") if "=" in part)
        return self._bearer(user, fields.get("auth", "").removeprefix("Bearer "))

    def _bearer(self, user: str, token: str) -> AuthResult:
        tokens = self.sink.xoauth2_tokens or {}
        check = self.sink.xoauth2_check
        ok = bool(user) and (check(user, token) if check is not None else tokens.get(token) == user)
        return AuthResult(success=ok, handled=False, auth_data=user if ok else None)


class _SinkController(Controller):
    def __init__(self, sink: SmtpSink, port: int) -> None:
        self.sink = sink
        super().__init__(
            _Handler(sink),
            hostname=sink.host,
            port=port,
            ready_timeout=10.0,
            ssl_context=sink.tls if sink.implicit_tls else None,
        )

    def factory(self) -> SMTP:
        sink = self.sink
        exclude = ["CRAM-MD5"]
        if sink.xoauth2_tokens is None and sink.xoauth2_check is None:
            exclude.append("XOAUTH2")
        if not sink.oauthbearer:
            exclude.append("OAUTHBEARER")
        server = SMTP(
            self.handler,
            hostname="sink.test",
            decode_data=False,
            enable_SMTPUTF8=True,
            authenticator=sink._authenticate,
            auth_required=False,
            auth_require_tls=False,
            auth_exclude_mechanism=exclude,
            tls_context=None if sink.implicit_tls else sink.tls,
        )
        # Passing auth_required=True with auth_require_tls=False makes aiosmtpd emit a
        # UserWarning and a log warning for *every* connection; set the flag afterwards.
        server._auth_required = sink.require_auth
        return server


class SmtpSink:
    """Records every accepted message; see the module docstring for the knobs."""

    def __init__(
        self,
        users: dict[str, str] | None = None,
        *,
        require_auth: bool = False,
        xoauth2_tokens: dict[str, str] | None = None,
        xoauth2_check: Callable[[str, str], bool] | None = None,
        port: int | None = None,
        tls: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
    ) -> None:
        if implicit_tls and tls is None:
            raise ValueError("implicit_tls needs a server tls context")
        self.tls = tls
        self.implicit_tls = implicit_tls
        self.host = LOCALHOST
        self.port = port if port is not None else free_port()
        self.users: dict[str, str] = dict(users or {})
        self.require_auth = require_auth
        self.xoauth2_tokens = xoauth2_tokens
        self.xoauth2_check = xoauth2_check
        self._default_xoauth2_check = xoauth2_check
        #: Also offer OAUTHBEARER (RFC 7628), checked like XOAUTH2; reset() turns it off again.
        self.oauthbearer = False
        self._mode: Mode = "accept"
        self.stall_at: Literal["DATA", "QUIT"] | None = None
        self.stalled = threading.Event()
        self.messages: list[Received] = []
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._defaults = (require_auth, None if xoauth2_tokens is None else dict(xoauth2_tokens))
        self._default_users = dict(self.users)
        self._controller: _SinkController | None = None

    # ------------------------------------------------------------------ knobs
    @property
    def mode(self) -> Mode:
        return self._mode

    @mode.setter
    def mode(self, value: Mode) -> None:
        if value not in _MODES:
            raise ValueError(f"mode must be one of {sorted(_MODES)}, not {value!r}")
        self._mode = value

    def _authenticate(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        ok = login in self.users and self.users[login] == password
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    # -------------------------------------------------------------- messages
    def _record(self, received: Received) -> None:
        """Called in the controller thread."""
        with self._lock:
            self.messages.append(received)
            waiters = list(self._waiters)
        for loop, event in waiters:
            with contextlib.suppress(RuntimeError):  # that loop is closed
                loop.call_soon_threadsafe(event.set)

    async def wait_for(self, n: int = 1, timeout: float = 15.0) -> list[Received]:
        """Wait until at least ``n`` messages were accepted; return a snapshot of them."""
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        waiter = (loop, event)
        with self._lock:
            self._waiters.append(waiter)
        try:
            deadline = loop.time() + timeout
            while True:
                event.clear()
                with self._lock:
                    if len(self.messages) >= n:
                        return list(self.messages)
                    count = len(self.messages)
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise TimeoutError(f"SMTP sink got {count} message(s), expected {n}, within {timeout}s")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), remaining)
        finally:
            with self._lock:
                self._waiters.remove(waiter)

    def reset(self) -> None:
        """Forget messages and restore mode="accept", no stall and the constructor's users and auth settings."""
        with self._lock:
            self.messages.clear()
        self._mode = "accept"
        self.stall_at = None
        self.stalled.clear()
        self.require_auth, tokens = self._defaults
        self.users = dict(self._default_users)
        self.xoauth2_tokens = None if tokens is None else dict(tokens)
        self.xoauth2_check = self._default_xoauth2_check
        self.oauthbearer = False

    # ------------------------------------------------------------- lifecycle
    def start(self) -> None:
        if self._controller is not None:
            return
        last_error: Exception | None = None
        for _ in range(3):  # the free port may have been taken meanwhile
            controller = _SinkController(self, self.port)
            try:
                controller.start()
            except Exception as exc:  # retried with a new port
                last_error = exc
                self.port = free_port()
                continue
            self._controller = controller
            return
        raise RuntimeError(f"SMTP sink failed to start on {self.host}: {last_error}")

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> SmtpSink:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
