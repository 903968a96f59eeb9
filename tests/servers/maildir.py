"""Seed a Dovecot Maildir directly: thousands of messages in a second, where APPEND takes a minute."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path

from tests.servers.dovecot import Dovecot, _mail_ids


def folder_dir(root: Path, mailbox: str) -> Path:
    """Maildir++ layout: INBOX is the root, ``A/B`` is ``.A.B``."""
    return root if mailbox.upper() == "INBOX" else root / ("." + mailbox.replace("/", "."))


def _mkdir_owned(path: Path, uid: int, gid: int) -> None:
    """Create missing directories owned by the mail user: Dovecot must be able to write beside them."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for directory in reversed(missing):
        directory.mkdir()
        os.chown(directory, uid, gid)


def seed_maildir(
    dovecot: Dovecot, user: str, mailbox: str, messages: Iterable[bytes], seen: bool = False
) -> int:
    """Write messages as files in ``cur/``; Dovecot assigns UIDs at the next SELECT or STATUS."""
    uid, gid = _mail_ids()
    root = dovecot.maildir(user)
    target = folder_dir(root, mailbox)
    for path in (
        root,
        *(root / d for d in ("cur", "new", "tmp")),
        target,
        *(target / d for d in ("cur", "new", "tmp")),
    ):
        _mkdir_owned(path, uid, gid)
    if target != root:
        (target / "maildirfolder").touch()
        os.chown(target / "maildirfolder", uid, gid)
    stamp = int(time.time()) - 10_000_000  # in the past: seeded mail is old mail
    count = 0
    for i, data in enumerate(messages):
        name = target / "cur" / f"{stamp + i}.M{i}P{os.getpid()}.seed,S={len(data)}:2,{'S' if seen else ''}"
        name.write_bytes(data)
        os.chown(name, uid, gid)
        os.utime(name, (stamp + i, stamp + i))
        count += 1
    return count


def deliver_maildir(dovecot: Dovecot, user: str, mailbox: str, messages: Iterable[bytes]) -> list[Path]:
    """Deliver as an MDA does while the server may be down: write in ``tmp/``, rename into ``new/``.
    The files carry the current time, so this is new mail; Dovecot gives it UIDs when it next looks."""
    uid, gid = _mail_ids()
    target = folder_dir(dovecot.maildir(user), mailbox)
    for d in ("cur", "new", "tmp"):
        _mkdir_owned(target / d, uid, gid)
    delivered = []
    for i, data in enumerate(messages):
        name = f"{time.time_ns()}.M{i}P{os.getpid()}.deliver,S={len(data)}"
        staged = target / "tmp" / name
        staged.write_bytes(data)
        os.chown(staged, uid, gid)
        delivered.append(staged.rename(target / "new" / name))
    return delivered
