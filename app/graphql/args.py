"""Arguments and inputs are validated by the REST models, so both transports accept exactly
the same values and refuse the rest with the same ``details``."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from app.graphql.types.generate import to_payload
from app.web.errors import invalid

M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Any = None, /, **arguments: Any) -> M:
    """``model`` from an input object (``data``) or from keyword arguments; None means "not
    given", so the model's default applies as it does for an absent REST parameter."""
    payload = to_payload(data) if data is not None else {k: v for k, v in arguments.items() if v is not None}
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise invalid(exc, "input") from None
