"""/v1/templates… routes."""

from __future__ import annotations

from app.api.routing import Call, Router
from app.schemas.templates import (
    TemplateCreate,
    TemplateCreated,
    TemplateDeleted,
    TemplateFlushQuery,
    TemplateInfo,
    TemplateList,
    TemplateListQuery,
    TemplatesFlushed,
    TemplateUpdate,
    TemplateUpdated,
)
from app.services import templates

router = Router()
TAG = "Templates"


@router.get("/v1/templates", query=TemplateListQuery, response=TemplateList, tag=TAG, errors=(400, 403, 404))
async def list_templates(call: Call) -> TemplateList:
    """List templates (with ``account``: the ones it can use, its own and the global ones)."""
    return await templates.list_templates(call.ctx, call.principal, call.query)


@router.post(
    "/v1/templates/template", body=TemplateCreate, response=TemplateCreated, tag=TAG, errors=(400, 403, 404)
)
async def create_template(call: Call) -> TemplateCreated:
    """Store a Handlebars template (global, or an account's with ``account``)."""
    return await templates.create(call.ctx, call.principal, call.body)


@router.get("/v1/templates/template/{template}", response=TemplateInfo, tag=TAG, errors=(403, 404))
async def get_template(call: Call) -> TemplateInfo:
    """One template with its content."""
    return await templates.get(call.ctx, call.principal, call.path("template"))


@router.put(
    "/v1/templates/template/{template}",
    body=TemplateUpdate,
    response=TemplateUpdated,
    tag=TAG,
    errors=(400, 403, 404),
)
async def update_template(call: Call) -> TemplateUpdated:
    """Change a template; content parts not given stay as they are."""
    return await templates.update(call.ctx, call.principal, call.path("template"), call.body)


@router.delete("/v1/templates/template/{template}", response=TemplateDeleted, tag=TAG, errors=(403, 404))
async def delete_template(call: Call) -> TemplateDeleted:
    """Delete a template."""
    return await templates.delete_one(call.ctx, call.principal, call.path("template"))


@router.delete(
    "/v1/templates/account/{account}",
    query=TemplateFlushQuery,
    response=TemplatesFlushed,
    tag=TAG,
    errors=(400, 403, 404),
)
async def flush_templates(call: Call) -> TemplatesFlushed:
    """Delete every template of an account (``force=true`` required)."""
    return await templates.flush(call.ctx, call.principal, call.path("account"), call.query.force)
