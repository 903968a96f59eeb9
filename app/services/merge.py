"""Mail merge: one personalised message per entry, each answered on its own. An entry that is
invalid, fails to render or is on the list's suppression list is reported, and the others are
queued all the same, in one transaction."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert

from app.mail import batch
from app.models import Account, OutboxItem
from app.models.base import utcnow
from app.schemas.common import iso
from app.schemas.submit import MergeAddress, MergeEntry, MergeResult, Skipped, SubmitInput, Submitted
from app.services import blocklists, personalize, settings
from app.services.building import Built, ReferenceOnce, outbox_row, plan
from app.services.context import Context
from app.services.errors import ServiceError
from app.services.principal import Principal

INSERT = insert(OutboxItem.__table__)  # type: ignore[attr-defined]
CHUNK = 500


@dataclass
class _Planned:
    index: int
    entry: MergeEntry
    data: SubmitInput
    built: Built


def _address(value: Any) -> MergeAddress | None:
    """The entry's ``to`` as given, for the answer (only its text fields: it may be invalid)."""
    if not isinstance(value, dict):
        return None
    name, address = value.get("name"), value.get("address")
    return MergeAddress(
        name=name if isinstance(name, str) else None, address=address if isinstance(address, str) else None
    )


def _failure(to: MergeAddress | None, exc: ServiceError) -> MergeResult:
    return MergeResult(
        success=False, to=to, error=exc.message, code=exc.code, statusCode=exc.status, details=exc.details
    )


def _entry(raw: Any) -> MergeEntry | MergeResult:
    try:
        entry = MergeEntry.model_validate(raw)
    except ValidationError as exc:
        details = {".".join(str(p) for p in e["loc"]) or "entry": e["msg"] for e in exc.errors()}
        to = _address(raw.get("to")) if isinstance(raw, dict) else None
        return MergeResult(
            success=False,
            to=to,
            error="Invalid mail merge entry",
            code="InvalidRequest",
            statusCode=400,
            details=details,
        )
    if entry.sendAt is not None and entry.sendAt.tzinfo is None:
        problem = ServiceError(
            "sendAt needs a time zone (e.g. 2026-01-01T10:00:00Z)", details={"sendAt": "naive"}
        )
        return _failure(_address(entry.to.model_dump()), problem)
    return entry


async def submit_merge(ctx: Context, principal: Principal, account: Account, data: SubmitInput) -> Submitted:
    assert data.mailMerge is not None
    extras = await personalize.prepare(ctx, principal, account, data)
    checked = [_entry(raw) for raw in data.mailMerge]
    blocked: set[str] = set()
    if data.listId is not None:
        addresses = [e.to.address for e in checked if isinstance(e, MergeEntry)]
        blocked = await blocklists.suppressed(ctx, data.listId, addresses)
    results: list[MergeResult | None] = [e if isinstance(e, MergeResult) else None for e in checked]
    planned: list[_Planned] = []
    assembler = batch.Assembler(len(checked))
    referenced = ReferenceOnce()
    for index, entry in enumerate(checked):
        if not isinstance(entry, MergeEntry):
            continue
        if data.listId is not None and entry.to.address.lower() in blocked:
            skipped = Skipped(reason="unsubscribe", listId=data.listId)
            results[index] = MergeResult(success=False, to=_address(entry.to.model_dump()), skipped=skipped)
            continue
        one = data.model_copy(update={"to": [entry.to], "messageId": entry.messageId, "mailMerge": None})
        try:
            built = await plan(ctx, principal, account, one, extras, entry.params, referenced)
        except ServiceError as exc:
            results[index] = _failure(_address(entry.to.model_dump()), exc)
            continue
        planned.append(_Planned(index, entry, one, built))
        assembler.add(built.spec or {})
        if assembler.pooled and index % batch.CHUNK == 0:
            await asyncio.sleep(0)  # let the workers' chunks and other requests in
    raws = await assembler.results()
    rows = await _rows(ctx, account, data, planned, raws, results)
    if rows:
        async with ctx.db.writer(express=True) as s:  # a request is waiting
            for start in range(0, len(rows), CHUNK):
                await s.execute(INSERT, rows[start : start + CHUNK])
            await s.commit()
        ctx.outbox_wake.set()
    answers = [r for r in results if r is not None]
    return Submitted(response=f"Queued {len(rows)} of {len(answers)} for delivery", mailMerge=answers)


async def _rows(
    ctx: Context,
    account: Account,
    data: SubmitInput,
    planned: list[_Planned],
    raws: list[bytes | str],
    results: list[MergeResult | None],
) -> list[dict[str, Any]]:
    """Outbox rows: the first made in full, the rest as copies of it with their own values (a
    thousand ORM objects would cost more than building the messages)."""
    attempts = data.deliveryAttempts or await settings.delivery_attempts(ctx)
    now = utcnow()
    first: dict[str, Any] | None = None
    rows: list[dict[str, Any]] = []
    for item, raw in zip(planned, raws, strict=True):
        to = _address(item.entry.to.model_dump())
        if isinstance(raw, str):
            results[item.index] = _failure(to, ServiceError(raw))
            continue
        built = item.built
        built.raw, built.spec = raw, None
        if first is None:
            first = (
                await outbox_row(ctx, account, item.data, built, send_at=item.entry.sendAt, attempts=attempts)
            ).model_dump()
            row = first
        else:
            wanted = item.entry.sendAt or data.sendAt
            when = max(wanted, now) if wanted is not None else now
            row = first | {
                "id": secrets.token_hex(8),
                "message_id": built.message_id,
                "subject": (built.subject or "")[:998] or None,
                "raw": raw,
                "envelope": {"from": built.sender, "to": built.recipients},
                "send_at": when,
                "next_attempt": when,
            }
        rows.append(row)
        results[item.index] = MergeResult(
            success=True, to=to, messageId=row["message_id"], queueId=row["id"], sendAt=iso(row["send_at"])
        )
    return rows
