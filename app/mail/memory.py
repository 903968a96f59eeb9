"""An in-memory mail server and its sessions, implementing :class:`app.mail.session.MailSession`.

The sync engine and the services are tested against it in milliseconds, and the same contract
suite runs it next to Dovecot, so it answers as an IMAP server does where callers can tell:
folders keep UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ; a folder deleted and created again, or
renumbered with :meth:`MemoryServer.bump_uidvalidity`, gets a new UIDVALIDITY; a change made
through one session is reported to the others' :meth:`MemorySession.watch`, as IDLE would.
Summaries are built from the raw source with the stdlib parser (through :mod:`app.mail.mime`),
so what the index learns is what a server's ENVELOPE and BODYSTRUCTURE would tell.

Failures are injected, never random: :meth:`MemoryServer.fail_next` makes one named call raise,
:meth:`MemoryServer.drop_connections` loses every open session."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.mail.memorysession import MemorySession
from app.mail.memorystore import DEFAULT_CAPABILITIES, Store
from app.mail.wirelog import Sink

if TYPE_CHECKING:
    from app.mail.session import SessionFactory

__all__ = ["DEFAULT_CAPABILITIES", "MemoryServer", "MemorySession"]


class MemoryServer(Store):
    """Call it as a :class:`app.mail.session.SessionFactory`: every session it makes sees the same
    folders, so a test can play "another client" with a second one."""

    def __call__(
        self,
        settings: dict[str, Any],
        *,
        timeout: float = 30.0,
        name: str = "memory",
        wire: Sink | None = None,
    ) -> MemorySession:
        return MemorySession(self, settings, name=name)


if TYPE_CHECKING:
    _factory: SessionFactory = MemoryServer()
