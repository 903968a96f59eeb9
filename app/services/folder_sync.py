"""Synchronise one folder: initial index newest-first, then incremental with CONDSTORE/QRESYNC
where the server has them and UID/flag diffing where it does not."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from app.index.store import Index
from app.mail import imapparse
from app.mail.session import (
    Change,
    FlagsChanged,
    FolderStatus,
    MailSession,
    NewMessages,
    UidsFrom,
    Vanished,
)
from app.mail.types import FetchedMessage
from app.models import Mailbox

log = logging.getLogger(__name__)

FIRST_BATCH = 250  # small, so the newest page is listable almost at once
BATCH = 1000
RETRIES = 3


def generation_changed(box: Mailbox, info: imapparse.SelectInfo) -> bool:
    """Whether the server renumbered the folder (its UIDVALIDITY is not the one the index's UIDs
    belong to), so no UID the index holds names the same message any more. A folder the index
    never read has no UIDs to lose."""
    return box.uid_validity is not None and info.uid_validity != box.uid_validity


async def first_pass(
    conn: MailSession,
    index: Index,
    boxes: Sequence[Mailbox],
    statuses: Mapping[str, FolderStatus],
    notify_from: datetime | None,
) -> list[Mailbox]:
    """Bring every folder in step at the start of a session, INBOX first (the folder people look
    at is ready first). What the listing's STATUS answers told (``statuses``, LIST-STATUS) spares
    a SELECT: new empty folders are stored as such, all in one write, and a folder whose counters
    prove it unchanged since the last pass is left as it is."""
    quiet: list[tuple[Mailbox, dict[str, Any]]] = []
    busy: list[Mailbox] = []
    for box in sorted(boxes, key=lambda b: b.path != "INBOX"):
        status = statuses.get(box.path) if box.path != "INBOX" else None  # INBOX: always selected
        if status is not None and _unchanged(box, status):
            quiet.append((box, {}))
        elif status is not None and (state := _new_and_empty(box, status)):
            quiet.append((box, state))
        else:
            busy.append(box)
    await index.store_states([(box, state) for box, state in quiet if state])
    return [box for box, _ in quiet] + [await sync_folder(conn, index, box, notify_from) for box in busy]


def _new_and_empty(box: Mailbox, status: FolderStatus) -> dict[str, Any] | None:
    """The state a folder never indexed and empty on the server takes without being selected:
    nothing to index, and mail arriving later has UIDs from ``uid_next`` on."""
    if box.initialized or box.uid_validity is not None or status.messages != 0:
        return None
    if status.uid_validity is None or status.uid_next is None:
        return None
    return {
        "uid_validity": status.uid_validity,
        "server_messages": 0,
        "uid_next": status.uid_next,
        "highest_modseq": status.highest_modseq,
        "synced_modseq": status.highest_modseq,
        "initialized": True,
    }


def status_shows_change(box: Mailbox, status: FolderStatus) -> bool:
    """Whether a STATUS answer shows ``box`` changed since the index last read it. With CONDSTORE
    every change moves the MODSEQ; without it only new, expunged and (un)seen mail shows, not
    other flag changes."""
    if status.uid_validity != box.uid_validity or status.uid_next != box.uid_next:
        return True
    if status.highest_modseq is not None and box.synced_modseq is not None:
        return status.highest_modseq != box.synced_modseq
    return status.messages != box.messages or status.unseen != box.unseen


def _unchanged(box: Mailbox, status: FolderStatus) -> bool:
    """Proven unchanged, so not worth a SELECT: only with CONDSTORE (without it, flags may have
    changed unseen) and only for a folder the index has read in full."""
    return (
        box.initialized
        and status.highest_modseq is not None
        and box.synced_modseq is not None
        and box.messages == status.messages
        and not status_shows_change(box, status)
    )


def _batches(uids: list[int]) -> list[list[int]]:
    out, i, size = [], 0, FIRST_BATCH
    while i < len(uids):
        out.append(uids[i : i + size])
        i += size
        size = BATCH
    return out


async def sync_folder(conn: MailSession, index: Index, box: Mailbox, notify_from: datetime | None) -> Mailbox:
    """Bring ``box`` in step with the server and leave it selected.

    A change made while this runs may be reported only inside the answer to its last command, so
    that a following IDLE never hears of it: then the folder is read again (a few times at most)."""
    for _ in range(RETRIES):
        box, news = await _sync_once(conn, index, box, notify_from)
        if not news:
            break
    return box


async def _sync_once(
    conn: MailSession, index: Index, box: Mailbox, notify_from: datetime | None
) -> tuple[Mailbox, bool]:
    qresync = None
    if box.initialized and box.uid_validity and box.synced_modseq and "QRESYNC" in conn.capabilities:
        qresync = (box.uid_validity, box.synced_modseq)
    info = await conn.select(box.path, readonly=True, qresync=qresync)
    if info.uid_validity is None:
        raise imapparse.ImapParseError(f"{box.path}: server sent no UIDVALIDITY")
    if generation_changed(box, info):
        log.warning("%s %s: UIDVALIDITY changed, reindexing", index.account, box.path)
        box = await index.reset(box, info.uid_validity)
        qresync = None
    if not box.initialized:
        # Listings count the server's messages from now on (see Mailbox.server_messages). An empty
        # new folder stores both with its only write: one write turn less per folder at start-up.
        box.server_messages = info.exists
        if box.uid_validity is None:
            box.uid_validity = info.uid_validity
            if info.exists > FIRST_BATCH:  # else its first batch, which is all of it, stores them
                box = await index.save_state(box, uid_validity=info.uid_validity, server_messages=info.exists)
            return await _initial(conn, index, box, info, notify_from, known=set())
        return await _initial(conn, index, box, info, notify_from)
    return await _incremental(conn, index, box, info, notify_from, used_qresync=qresync is not None)


async def _initial(
    conn: MailSession,
    index: Index,
    box: Mailbox,
    info: imapparse.SelectInfo,
    notify_from: datetime | None,
    known: set[int] | None = None,
) -> tuple[Mailbox, bool]:
    """Index the folder newest first. ``known``: the UIDs already indexed, read from the index
    unless the caller knows (a folder never indexed has none); a restart resumes from there.
    Also says whether an answer carried news of a change made meanwhile (see :func:`sync_folder`)."""
    uids, news = await conn.all_uids() if info.exists else ([], False)
    fresh = known is not None and not known  # nothing indexed: counting the inserts is exact
    if known is None:
        known = set(await index.known_uids(box))
    todo = sorted(set(uids) - known, reverse=True)
    final = {
        "uid_validity": box.uid_validity,
        "server_messages": info.exists,
        "uid_next": info.uid_next,
        "highest_modseq": info.highest_modseq,
        "synced_modseq": info.highest_modseq,
        "initialized": True,
    }
    batches = _batches(todo)
    for n, chunk in enumerate(batches, 1):
        fetched = await conn.fetch_summaries(chunk)
        news |= any(m.uid is None for m in fetched.messages)
        # A new folder's last batch ends the pass in its own transaction: a small folder's first
        # pass is one write.
        then = final if fresh and n == len(batches) else None
        await index.insert(box, fetched.messages, notify_from, found_at_start=True, then=then)
    if fresh and batches:
        return box, news
    stale = known - set(uids)
    if stale:
        await index.remove(box, stale)
    return await index.save_state(box, **final), news


async def _incremental(
    conn: MailSession,
    index: Index,
    box: Mailbox,
    info: imapparse.SelectInfo,
    notify_from: datetime | None,
    used_qresync: bool,
) -> tuple[Mailbox, bool]:
    condstore = info.highest_modseq is not None and box.synced_modseq is not None
    unchanged = (
        condstore
        and info.highest_modseq == box.synced_modseq
        and info.uid_next == box.uid_next
        and info.exists == box.messages
    )
    if unchanged and not info.vanished and not info.fetched:
        return box, False
    last_known = (box.uid_next or 1) - 1
    # A FETCH line without UID is the server reporting, unasked, a change it made after our read.
    news = False
    if info.uid_next is None or box.uid_next is None or info.uid_next > box.uid_next:
        fetched = await conn.fetch_summaries(UidsFrom(last_known + 1))
        fresh = [m for m in fetched.messages if m.uid is not None and m.uid > last_known]
        news |= any(m.uid is None for m in fetched.messages)
        await index.insert(box, fresh, notify_from)
    if last_known > 0:
        if used_qresync:
            await index.update_flags(box, [m for m in info.fetched if m.uid and m.uid <= last_known])
            if info.vanished:
                await index.remove(box, info.vanished)
        elif condstore:
            assert box.synced_modseq is not None
            changed = await conn.fetch_flags(
                range(1, last_known + 1), changed_since=box.synced_modseq, vanished=True
            )
            await index.update_flags(box, changed.messages)
            news |= any(m.uid is None for m in changed.messages)
            if changed.vanished:
                await index.remove(box, changed.vanished)
        else:
            everything = await conn.fetch_flags(range(1, last_known + 1))
            await index.update_flags(box, everything.messages)
            news |= any(m.uid is None for m in everything.messages)
    # ``box`` holds the counts as insert/update/remove left them: each write adjusts them.
    if box.messages != info.exists or not (used_qresync or condstore):
        # Expunges that no VANISHED reported (or no CONDSTORE at all): diff the UID sets.
        present: set[int] = set()
        if info.exists:
            uids, reported = await conn.all_uids()
            present, news = set(uids), news or reported
        gone = set(await index.known_uids(box)) - present
        if gone:
            await index.remove(box, gone)
    box = await index.save_state(
        box,
        uid_next=info.uid_next,
        highest_modseq=info.highest_modseq,
        synced_modseq=info.highest_modseq,
    )
    return box, news


async def apply_changes(
    conn: MailSession,
    index: Index,
    box: Mailbox,
    changes: Sequence[Change],
    notify_from: datetime | None,
) -> Mailbox | None:
    """Apply what a watch on ``box`` (still selected on ``conn``) reported, without selecting it
    again: new mail is read from UIDNEXT on, flags and expunges named by UID are written as told.

    None when the folder must be read again with :func:`sync_folder` instead: nothing specific was
    reported (woken, the watch expired, NOTIFY spoke of this folder), a message was named by its
    position only (a plain EXPUNGE, or a FETCH without UID: positions cannot be mapped to UIDs
    once anything moved), or the fetch's answer itself carried a change.

    The MODSEQ cursors stay where they were: a change can be reported inside the answer to a
    command, where no watch hears of it, so applied pushes never prove the folder in step up to
    some MODSEQ. The next full pass asks from the old cursor; what it finds already applied
    causes no events, as every index write announces only real differences."""
    if not box.initialized or box.uid_next is None or conn.selected != box.path:
        return None
    known_below = box.uid_next
    flags: dict[int, FetchedMessage] = {}
    gone: set[int] = set()
    fresh = False
    for change in changes:
        if isinstance(change, NewMessages):
            fresh = True
        elif isinstance(change, FlagsChanged):
            if change.uid is None:
                return None
            flags[change.uid] = FetchedMessage(
                0, uid=change.uid, flags=list(change.flags), modseq=change.modseq
            )
            fresh |= change.uid >= known_below  # news of a message whose EXISTS never reached us
        elif isinstance(change, Vanished):
            if not change.uids:
                return None
            gone.update(change.uids)
        elif change.path is None or change.path == box.path:
            return None
        # NOTIFY news of another folder reaches the folder poll through watch_folders.
    if not (flags or gone or fresh):
        return None if not changes else box
    # Flags first: a summary fetched below is newer than any pushed flag of the same message.
    if flags:
        await index.update_flags(
            box, [m for uid, m in flags.items() if uid not in gone and uid < known_below]
        )
    if gone:
        await index.remove(box, gone)
    again = False
    uid_next = known_below
    if fresh:
        fetched = await conn.fetch_summaries(UidsFrom(known_below))
        new = [
            m for m in fetched.messages if m.uid is not None and m.uid >= known_below and m.uid not in gone
        ]
        await index.insert(box, new, notify_from)
        uid_next = max([known_below, *(m.uid + 1 for m in new if m.uid is not None)])
        again = any(m.uid is None for m in fetched.messages)
    box = await index.save_state(box, uid_next=uid_next)
    return None if again else box
