"""Check connection settings before an account is registered."""

from __future__ import annotations

import asyncio

from app.mail import probe
from app.schemas.accounts import CheckResult, VerifiedMailbox, VerifyInput, VerifyResult
from app.services.principal import Principal


async def verify_account(principal: Principal, data: VerifyInput) -> VerifyResult:
    principal.require_system()
    imap_cfg = data.imap.model_dump(by_alias=True, exclude_none=True) if data.imap else None
    smtp_cfg = data.smtp.model_dump(by_alias=True, exclude_none=True) if data.smtp else None
    imap_task = asyncio.ensure_future(probe.check_imap(imap_cfg, data.mailboxes)) if imap_cfg else None
    smtp_task = asyncio.ensure_future(probe.check_smtp(smtp_cfg)) if smtp_cfg else None
    imap_done = await imap_task if imap_task else None
    smtp_done = await smtp_task if smtp_task else None
    result = VerifyResult()
    if imap_done is not None:
        outcome, boxes = imap_done
        result.imap = CheckResult(success=outcome.success, error=outcome.error, code=outcome.code)
        if boxes is not None:
            result.mailboxes = [
                VerifiedMailbox(path=b.path, delimiter=b.delimiter, name=b.name, specialUse=b.special_use)
                for b in boxes
            ]
    if smtp_done is not None:
        result.smtp = CheckResult(success=smtp_done.success, error=smtp_done.error, code=smtp_done.code)
    return result
