"""Stored templates: global ones for every account, or an account's own."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlmodel import col

from app.mail import render
from app.models import Template
from app.models.base import utcnow
from app.schemas.common import iso, page_count
from app.schemas.templates import (
    TemplateContent,
    TemplateCreate,
    TemplateCreated,
    TemplateDeleted,
    TemplateInfo,
    TemplateList,
    TemplateListQuery,
    TemplatesFlushed,
    TemplateSummary,
    TemplateUpdate,
    TemplateUpdated,
)
from app.services import accounts
from app.services.context import Context
from app.services.errors import InvalidRequest, NotFound
from app.services.principal import Principal

T = Template


class TemplateNotFound(NotFound):
    code, message = "TemplateNotFound", "Template was not found"


class TemplateInvalid(InvalidRequest):
    code = "TemplateError"


def check(content: dict[str, Any]) -> None:
    """Refuse a template that cannot compile when it is stored, not when it is first used."""
    try:
        render.compile_content(_content(content))
    except render.TemplateError as exc:
        raise TemplateInvalid(
            f"The template does not compile: {exc}", details={f"content.{exc.part}": exc.problem}
        ) from None


def _content(content: dict[str, Any]) -> render.Content:
    return render.Content(
        subject=content.get("subject"),
        text=content.get("text"),
        html=content.get("html"),
        preview_text=content.get("previewText"),
    )


def renderer(template: Template | None, own: dict[str, Any], markdown: bool) -> render.Renderer:
    """Compiled parts: the request's own subject/text/html/previewText over the template's."""
    merged = dict(template.content) if template is not None else {}
    merged.update({k: v for k, v in own.items() if v is not None})
    try:
        return render.compile_content(_content(merged), markdown_html=markdown)
    except render.TemplateError as exc:
        raise TemplateInvalid(f"Template error in {exc}", details={exc.part: exc.problem}) from None


async def create(ctx: Context, principal: Principal, data: TemplateCreate) -> TemplateCreated:
    account = data.account or principal.account
    if account is not None:
        await accounts.load(ctx, principal, account)
    content = data.content.model_dump(exclude_none=True)
    check(content)
    now = utcnow()
    row = Template(
        id=secrets.token_hex(8),
        account=account,
        name=data.name,
        description=data.description,
        format=data.format,
        content=content,
        created=now,
        updated=now,
    )
    async with ctx.db.session() as s:
        s.add(row)
        await s.commit()
    return TemplateCreated(created=True, account=account, id=row.id)


async def usable(ctx: Context, principal: Principal, template_id: str, account: str | None) -> Template:
    """A template the caller may use: a global one or one of ``account``'s (the caller's own
    account for account tokens); any other is, as far as the caller knows, not there."""
    async with ctx.db.session() as s:
        row = await s.get(Template, template_id)
    owner = account if account is not None else principal.account
    if row is None or (row.account is not None and owner is not None and row.account != owner):
        raise TemplateNotFound()
    if row.account is not None and owner is None and not principal.is_system:
        raise TemplateNotFound()
    return row


def _summary(row: Template) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "format": row.format,
        "created": iso(row.created),
        "updated": iso(row.updated),
    }


async def get(ctx: Context, principal: Principal, template_id: str) -> TemplateInfo:
    row = await usable(ctx, principal, template_id, None)
    return TemplateInfo(
        **_summary(row), account=row.account, content=TemplateContent.model_validate(row.content)
    )


async def update(
    ctx: Context, principal: Principal, template_id: str, data: TemplateUpdate
) -> TemplateUpdated:
    await _editable(ctx, principal, template_id)
    async with ctx.db.session() as s:
        row = await s.get(Template, template_id)
        if row is None:
            raise TemplateNotFound()
        for field in ("name", "description", "format"):
            if field in data.model_fields_set and getattr(data, field) is not None:
                setattr(row, field, getattr(data, field))
        if data.content is not None:
            content = {**row.content, **data.content.model_dump(exclude_unset=True)}
            content = {k: v for k, v in content.items() if v is not None}
            check(content)
            row.content = content
        row.updated = utcnow()
        s.add(row)
        await s.commit()
        return TemplateUpdated(updated=True, account=row.account, id=row.id)


async def _editable(ctx: Context, principal: Principal, template_id: str) -> Template:
    """Account tokens change their account's templates only, not the global ones."""
    row = await usable(ctx, principal, template_id, None)
    if row.account is None and not principal.is_system:
        raise TemplateNotFound()
    return row


async def delete_one(ctx: Context, principal: Principal, template_id: str) -> TemplateDeleted:
    row = await _editable(ctx, principal, template_id)
    async with ctx.db.core() as s:
        await s.execute(delete(T).where(col(T.id) == template_id))
        await s.commit()
    return TemplateDeleted(deleted=True, account=row.account, id=row.id)


async def flush(ctx: Context, principal: Principal, account: str, force: bool) -> TemplatesFlushed:
    await accounts.load(ctx, principal, account)
    if not force:
        raise InvalidRequest(
            "Deleting every template of an account needs force=true", details={"force": "must be true"}
        )
    async with ctx.db.core() as s:
        await s.execute(delete(T).where(col(T.account) == account))
        await s.commit()
    return TemplatesFlushed(flushed=True, account=account)


async def list_templates(ctx: Context, principal: Principal, query: TemplateListQuery) -> TemplateList:
    """With ``account``: the templates it can use (its own and the global ones). Without: every
    template for a system token, an account token's usable ones otherwise."""
    account = query.account or principal.account
    conditions: list[Any] = []
    if account is not None:
        await accounts.load(ctx, principal, account)
        conditions.append(or_(col(T.account) == account, col(T.account).is_(None)))
    async with ctx.db.core() as s:
        total = int((await s.execute(select(func.count()).select_from(T).where(*conditions))).scalar_one())
        rows = (
            await s.execute(
                select(T)
                .where(*conditions)
                .order_by(col(T.name), col(T.id))
                .offset(query.page * query.pageSize)
                .limit(query.pageSize)
            )
        ).scalars()
        items = [TemplateSummary(**_summary(r)) for r in rows]
    return TemplateList(
        account=account,
        total=total,
        page=query.page,
        pages=page_count(total, query.pageSize),
        templates=items,
    )
