"""Stored templates: Handlebars sources for subject, text, HTML and preview text."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from app.schemas.common import Output, PageQuery, QueryInput, StrictInput

TemplateFormat = Literal["html", "markdown"]
Source = Annotated[str, Field(max_length=5 * 1024 * 1024)]


class TemplateContent(StrictInput):
    subject: Annotated[str, Field(max_length=4096)] | None = None
    text: Source | None = None
    html: Source | None = Field(default=None, description="HTML, or Markdown when format is markdown")
    previewText: Annotated[str, Field(max_length=1024)] | None = Field(
        default=None, description="Hidden preheader shown by mail clients next to the subject"
    )


class TemplateCreate(StrictInput):
    account: Annotated[str, Field(min_length=1, max_length=256)] | None = Field(
        default=None, description="Owning account; none for a template every account can use"
    )
    name: Annotated[str, Field(min_length=1, max_length=256)]
    description: Annotated[str, Field(max_length=1024)] | None = None
    format: TemplateFormat = "html"
    content: TemplateContent


class TemplateUpdate(StrictInput):
    name: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    description: Annotated[str, Field(max_length=1024)] | None = None
    format: TemplateFormat | None = None
    content: TemplateContent | None = Field(default=None, description="Replaces the given parts only")


class TemplateListQuery(PageQuery):
    account: Annotated[str, Field(max_length=256)] | None = Field(
        default=None, description="An account's templates (besides the global ones)"
    )


class TemplateFlushQuery(QueryInput):
    force: bool = Field(default=False, description="Must be true: deletes every template of the account")


class TemplateSummary(Output):
    id: str
    name: str
    description: str | None = None
    format: str
    created: str
    updated: str


class TemplateList(Output):
    account: str | None = None
    total: int
    page: int
    pages: int
    templates: list[TemplateSummary]


class TemplateInfo(TemplateSummary):
    account: str | None = None
    content: TemplateContent


class TemplateCreated(Output):
    created: bool
    account: str | None = None
    id: str


class TemplateUpdated(Output):
    updated: bool
    account: str | None = None
    id: str


class TemplateDeleted(Output):
    deleted: bool
    account: str | None = None
    id: str


class TemplatesFlushed(Output):
    flushed: bool
    account: str
