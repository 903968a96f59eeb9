"""An aiosmtplib client that reports its SMTP dialogue to a protocol log sink.

Built on aiosmtplib's public command methods rather than the wire, so every command and reply
is seen whole: AUTH arguments and the answers to its 334 challenges are hidden, and the message
itself is logged as its size.
"""

from __future__ import annotations

from typing import Any

import aiosmtplib

from app.mail.wirelog import HIDDEN, Sink


class LoggedSMTP(aiosmtplib.SMTP):
    def __init__(self, *, sink: Sink, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sink = sink
        self._authenticating = False

    def _reply(self, response: aiosmtplib.SMTPResponse | aiosmtplib.SMTPResponseException) -> None:
        lines = str(response.message).split("\n") or [""]
        for n, text in enumerate(lines):
            self.sink("S", f"{response.code}{'-' if n < len(lines) - 1 else ' '}{text}".rstrip())

    async def connect(self, **kwargs: Any) -> aiosmtplib.SMTPResponse:
        response = await super().connect(**kwargs)
        self._reply(response)
        return response

    async def execute_command(self, *args: bytes, **kwargs: Any) -> aiosmtplib.SMTPResponse:
        if args and args[0].upper() == b"AUTH":
            self._authenticating = True
            mechanism = args[1].decode("ascii", "replace") if len(args) > 1 else ""
            self.sink("C", f"AUTH {mechanism} {HIDDEN}" if len(args) > 2 else f"AUTH {mechanism}")
        elif self._authenticating:
            self.sink("C", HIDDEN)  # the answer to a 334 challenge
        else:
            self.sink("C", b" ".join(args).decode("utf-8", "replace"))
        try:
            response = await super().execute_command(*args, **kwargs)
        except aiosmtplib.SMTPResponseException as exc:
            self._reply(exc)
            raise
        if response.code != 334:
            self._authenticating = False
        self._reply(response)
        return response

    async def starttls(self, *args: Any, **kwargs: Any) -> aiosmtplib.SMTPResponse:
        self.sink("C", "STARTTLS")
        response = await super().starttls(*args, **kwargs)
        self._reply(response)
        return response

    async def data(self, message: str | bytes, /, **kwargs: Any) -> aiosmtplib.SMTPResponse:
        self.sink("C", "DATA")
        self.sink("C", f"<message, {len(message)} bytes>")
        try:
            response = await super().data(message, **kwargs)
        except aiosmtplib.SMTPResponseException as exc:
            self._reply(exc)
            raise
        self._reply(response)
        return response
