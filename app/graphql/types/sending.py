"""Sending shapes (generated from the REST schemas)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.graphql.types.generate import input_type, output_type, register
from app.schemas import submit as sb

if TYPE_CHECKING:
    OutboxEntry = sb.OutboxEntry
    OutboxList = sb.OutboxList
    OutboxDeleted = sb.OutboxDeleted
    SubmitAnswer = sb.SubmitAnswer
    SubmitInput = Any
    StoredSubmitInput = Any
else:
    register(sb.Address, "AddressInput")
    register(sb.AttachmentIn, "AttachmentInput")
    register(sb.Reference, "ReferenceInput")
    register(sb.Envelope, "EnvelopeInput")
    register(sb.Render, "RenderInput")
    register(sb.Dsn, "DsnInput")
    register(sb.OutboxEntry, "OutboxEntry")
    OutboxEntry = output_type(sb.OutboxEntry)
    OutboxList = output_type(sb.OutboxList)
    OutboxDeleted = output_type(sb.OutboxDeleted)
    SubmitAnswer = output_type(sb.SubmitAnswer)
    SubmitInput = input_type(sb.SubmitInput, "SubmitInput")
    StoredSubmitInput = input_type(sb.StoredSubmitInput, "StoredSubmitInput")
