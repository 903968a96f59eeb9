"""Writes to the mailbox/message index. Each method is one transaction that also records the
events its change causes, so the index and the change log can never disagree."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app import events, tasking
from app.db import Database
from app.index.entries import flag_columns, row_from_fetch, without_session_flags
from app.mail import ids, specialuse
from app.mail.imapparse import ListEntry
from app.mail.types import FetchedMessage
from app.models import Mailbox, Message
from app.models.base import utcnow
from app.schemas.message_entries import message_entry

CHUNK = 500
MAILBOX_COLUMNS = tuple(Mailbox.__table__.columns)  # type: ignore[attr-defined]


def _insert(dialect: str) -> Any:
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


class Index:
    def __init__(
        self, db: Database, account: str, on_change: Callable[[str, int | None], None] | None = None
    ) -> None:
        self.db = db
        self.account = account
        self.dialect = db.engine.dialect.name
        self._on_change = on_change

    def _changed(self, box: Mailbox) -> None:
        if self._on_change is not None:
            self._on_change(self.account, box.id)

    async def mailboxes(self) -> list[Mailbox]:
        async with self.db.core() as s:
            rows = await s.execute(select(Mailbox).where(col(Mailbox.account) == self.account))
            return list(rows.scalars())

    async def mailbox(self, mailbox_id: int) -> Mailbox | None:
        async with self.db.core() as s:
            return await s.get(Mailbox, mailbox_id)

    @tasking.completes
    async def apply_list(
        self,
        listed: Sequence[ListEntry],
        wanted: Iterable[str] | None,
        explicit_roles: Mapping[str, str] | None = None,
    ) -> list[Mailbox]:
        """Bring the folder list in step with LIST; first listing of an account emits no events.

        Roles come from the whole listing (a folder outside ``wanted`` may still hold one)."""
        roles = specialuse.assign(
            (specialuse.Folder(e.path, e.delimiter, e.special_use) for e in listed), explicit_roles
        )
        keep = None if wanted is None else set(wanted) | {"INBOX"}
        entries = {e.path: e for e in listed if keep is None or e.path in keep}
        first: bool | None = None
        for attempt in range(3):
            try:
                boxes, first = await self._apply_list_once(entries, roles, first)
                break
            except IntegrityError:
                # An API write adopted or created one of these folders between our read and our insert;
                # the next pass reads it and updates instead of inserting.
                if attempt == 2:
                    raise
        if self._on_change is not None:
            self._on_change(self.account, None)
        return boxes

    async def _apply_list_once(
        self, entries: Mapping[str, ListEntry], roles: Mapping[str, str | None], first: bool | None
    ) -> tuple[list[Mailbox], bool]:
        async with self.db.writer() as s:
            existing = {
                m.path: m
                for m in (
                    await s.execute(select(Mailbox).where(col(Mailbox.account) == self.account))
                ).scalars()
            }
            if first is None:
                first = not existing
            for path, entry in entries.items():
                box = existing.get(path)
                if box is None:
                    box = Mailbox(account=self.account, path=path)
                    s.add(box)
                    if not first:
                        events.record(
                            s, "mailboxNew", self.account, _mailbox_event(entry, roles[path]), path=path
                        )
                box.delimiter = entry.delimiter
                box.special_use = roles[path]
                box.flags = list(entry.flags)
                box.subscribed = bool(getattr(entry, "subscribed", True))
            for path, box in existing.items():
                if path not in entries:
                    # By id, not through the ORM: the API may have deleted the row a moment ago,
                    # and then there is simply nothing left to delete.
                    s.expunge(box)
                    await s.execute(delete(Mailbox).where(col(Mailbox.id) == box.id))
                    events.record(s, "mailboxDeleted", self.account, {"path": path}, path=path)
            kept = [box for path, box in existing.items() if path in entries]
            added = [box for box in s.new if isinstance(box, Mailbox)]
            await s.commit()
            # The objects keep their values after the commit (and new ones their ids): no
            # second read of the rows just written.
            return sorted(kept + added, key=lambda b: b.id or 0), first

    @tasking.completes
    async def reset(self, box: Mailbox, uid_validity: int) -> Mailbox:
        """UIDVALIDITY changed: every indexed message of the folder is gone; start it afresh."""
        async with self.db.writer() as s:
            await s.execute(delete(Message).where(col(Message.mailbox_id) == box.id))
            row = await s.get(Mailbox, box.id)
            assert row is not None
            previous = row.uid_validity
            row.uid_validity, row.uid_next, row.highest_modseq, row.synced_modseq = (
                uid_validity,
                None,
                None,
                None,
            )
            row.messages, row.unseen, row.initialized = 0, 0, False
            row.version += 1
            events.record(
                s, "mailboxReset", self.account,
                {"path": row.path, "uidValidity": str(uid_validity), "prevUidValidity": str(previous)},
                path=row.path,
            )  # fmt: skip
            await s.commit()
        self._changed(box)
        return row

    async def known_uids(self, box: Mailbox) -> list[int]:
        async with self.db.core() as s:
            result = await s.execute(select(col(Message.uid)).where(col(Message.mailbox_id) == box.id))
            return [int(u) for u in result.scalars()]

    @tasking.completes
    async def insert(
        self,
        box: Mailbox,
        fetched: Sequence[FetchedMessage],
        notify_from: datetime | None,
        *,
        found_at_start: bool = False,
        then: Mapping[str, Any] | None = None,
    ) -> int:
        """Add messages; each one received on or after ``notify_from`` gets a messageNew event.

        ``found_at_start``: the messages were already in the folder when it was first indexed.
        INTERNALDATE has one-second resolution, so one dated in ``notify_from``'s own second may have
        been there before the account was registered; such mail is not announced. ``then``: folder
        state stored in the same transaction (a first pass's last batch ends the pass with it)."""
        assert box.id is not None and box.uid_validity is not None
        rows = [row_from_fetch(self.account, box.id, fm) for fm in fetched if fm.uid is not None]
        if not rows and not then:
            return 0
        async with self.db.writer() as s:
            landed: list[tuple[int, bool]] = []
            if rows:
                stmt = _insert(self.dialect)(Message).on_conflict_do_nothing(
                    index_elements=["mailbox_id", "uid"]
                )
                result = await s.execute(stmt.returning(col(Message.uid), col(Message.seen)), rows)
                landed = [(int(uid), bool(seen)) for uid, seen in result.all()]
            added = {int(uid) for uid, _ in landed}
            if notify_from is not None:
                notify_from = notify_from.replace(microsecond=0)  # INTERNALDATE has 1 s resolution
                for row in rows:
                    when = row["internal_date"] or row["date"]
                    same_second = when is None or when == notify_from
                    fresh = not found_at_start if same_second else when > notify_from
                    if row["uid"] in added and fresh:
                        entry = message_entry(row, box.path, box.special_use, box.uid_validity)
                        events.record(s, "messageNew", self.account, entry, path=box.path)
            stored = None
            if added or then:  # a folder's first UIDVALIDITY and size may be stored with its first mail
                values = {"uid_validity": box.uid_validity, "server_messages": box.server_messages}
                values = {**(values if added and not box.initialized else {}), **(then or {})}
                unseen = sum(not seen for _, seen in landed)
                stored = await _save(s, box, values, (len(added), unseen))
            await s.commit()
        if stored is not None:
            self._stored(box, stored)
        return len(added)

    @tasking.completes
    async def update_flags(self, box: Mailbox, changes: Sequence[FetchedMessage]) -> int:
        """Store new flags; only real differences become messageUpdated events."""
        assert box.id is not None and box.uid_validity is not None
        wanted = {fm.uid: fm for fm in changes if fm.uid is not None and fm.flags is not None}
        if not wanted:
            return 0
        changed = unseen = 0
        async with self.db.writer() as s:
            for start in range(0, len(wanted), CHUNK):
                uids = list(wanted)[start : start + CHUNK]
                # Locked on PostgreSQL: a concurrent writer of the same message (the API's STORE,
                # the sync) waits, so the change is announced and counted once.
                current = await s.execute(
                    select(col(Message.id), col(Message.uid), col(Message.flags), col(Message.seen))
                    .where(col(Message.mailbox_id) == box.id, col(Message.uid).in_(uids))
                    .with_for_update()
                )
                for row_id, uid, flags, seen in current.all():
                    fm = wanted[uid]
                    new = without_session_flags(list(fm.flags or []))
                    if set(new) == set(without_session_flags(flags or [])):
                        if fm.modseq is not None:
                            await s.execute(
                                update(Message).where(col(Message.id) == row_id).values(modseq=fm.modseq)
                            )
                        continue
                    await s.execute(
                        update(Message)
                        .where(col(Message.id) == row_id)
                        .values(modseq=fm.modseq, **flag_columns(new))
                    )
                    events.record(s, "messageUpdated", self.account, _flag_event(box, uid, flags or [], new),
                                  path=box.path)  # fmt: skip
                    changed += 1
                    unseen += int(bool(seen)) - int("\\Seen" in new)
            stored = await _save(s, box, {}, (0, unseen)) if changed else None
            await s.commit()
        if stored is not None:
            self._stored(box, stored)
        return changed

    @tasking.completes
    async def remove(self, box: Mailbox, uids: Iterable[int]) -> int:
        assert box.id is not None and box.uid_validity is not None
        gone = sorted(set(uids))
        removed = unseen = 0
        async with self.db.writer() as s:
            for start in range(0, len(gone), CHUNK):
                chunk = gone[start : start + CHUNK]
                result = await s.execute(
                    delete(Message)
                    .where(col(Message.mailbox_id) == box.id, col(Message.uid).in_(chunk))
                    .returning(col(Message.uid), col(Message.seen))
                )
                for uid, seen in result.all():
                    removed += 1
                    unseen += not seen
                    events.record(
                        s, "messageDeleted", self.account, _deleted_event(box, int(uid)), path=box.path
                    )
            if not removed:
                return 0
            stored = await _save(s, box, {}, (-removed, -unseen))  # counts stay exact for listings
            await s.commit()
        self._stored(box, stored)
        return removed

    @tasking.completes
    async def store_states(self, states: Sequence[tuple[Mailbox, Mapping[str, Any]]]) -> None:
        """Several folders' sync state in one transaction (folders a session's first pass needed
        not select); each ``box`` is brought up to date as :meth:`save_state` does."""
        if not states:
            return
        async with self.db.writer() as s:
            stored = [await _save(s, box, values, (0, 0)) for box, values in states]
            await s.commit()
        for (box, _), row in zip(states, stored, strict=True):
            self._stored(box, row)

    @tasking.completes
    async def save_state(self, box: Mailbox, **values: Any) -> Mailbox:
        """Store sync cursors and recount the folder from the index.

        One statement (counts as subqueries, the row back through RETURNING): a folder's first
        pass calls this a few times, and on SQLite each statement is a round trip made while
        holding the process's write turn, which every other account's sync is waiting for.
        ``box`` itself is brought up to date with the stored row and returned: building a new
        ORM object per call cost more than the statement."""
        async with self.db.writer() as s:
            stored = await _save(s, box, values)
            await s.commit()
        self._stored(box, stored)
        return box

    def _stored(self, box: Mailbox, stored: Row[Any]) -> None:
        """``box`` as the committed row has it; listings rendered from the folder are dropped."""
        for name, value in stored._mapping.items():
            setattr(box, name, value)
        self._changed(box)


async def _save(
    s: AsyncSession, box: Mailbox, values: Mapping[str, Any], delta: tuple[int, int] | None = None
) -> Row[Any]:
    """UPDATE of ``box`` with ``values`` in the caller's transaction; returns the row as stored.

    Without ``delta`` the message counts are taken from the index in the same statement, so they
    can never disagree with the rows. ``delta`` is (messages, unseen) that the caller's own writes
    in this transaction changed them by: every write of a folder's messages goes through this
    class and adjusts them, so a push that adds one message costs no count of the whole folder;
    :meth:`Index.save_state` still counts, once per sync pass. The folder's ``version`` moves on:
    pages rendered from it in any process are known stale by the next read of the row."""
    if delta is None:
        in_box = col(Message.mailbox_id) == box.id
        total: Any = select(func.count()).where(in_box).scalar_subquery()
        unseen: Any = select(func.count()).where(in_box, col(Message.seen).is_(False)).scalar_subquery()
    else:
        total, unseen = col(Mailbox.messages) + delta[0], col(Mailbox.unseen) + delta[1]
    statement = (
        update(Mailbox)
        .where(col(Mailbox.id) == box.id)
        .values(**values, messages=total, unseen=unseen, last_sync=utcnow(), version=col(Mailbox.version) + 1)
        .returning(*MAILBOX_COLUMNS)
    )
    return (await s.execute(statement)).one()


def _mailbox_event(entry: ListEntry, special_use: str | None) -> dict[str, Any]:
    name = entry.path.rsplit(entry.delimiter, 1)[-1] if entry.delimiter else entry.path
    return {"path": entry.path, "name": name, "specialUse": special_use}


def _flag_event(box: Mailbox, uid: int, old: list[str], new: list[str]) -> dict[str, Any]:
    assert box.id is not None and box.uid_validity is not None
    return {
        "id": ids.message_id(box.id, box.uid_validity, uid),
        "uid": uid,
        "changes": {
            "flags": {
                "added": sorted(set(new) - set(old)),
                "deleted": sorted(set(old) - set(new)),
                "value": new,
            }
        },
    }


def _deleted_event(box: Mailbox, uid: int) -> dict[str, Any]:
    assert box.id is not None and box.uid_validity is not None
    return {"id": ids.message_id(box.id, box.uid_validity, uid), "uid": uid}
