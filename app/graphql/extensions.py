"""Everything around execution, on strawberry's public extensions: a token limit and parse
cache, the guard rules and a validation cache, and REST-shaped errors in one place.

Both caches are keyed by everything their result depends on (the query text and parse options;
the schema, document and rules), so sharing them across callers leaks nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)

from app.graphql.errors import shape
from app.graphql.guards import MAX_TOKENS, RULES

CACHE_SIZE = 512


def _shape_all(result: Any) -> None:
    errors = getattr(result, "errors", None)
    if errors:
        result.errors = [shape(e) for e in errors]


class ShapeErrors(SchemaExtension):
    """The only place resolver exceptions become ``{code, statusCode, details}`` errors, for
    single results and for each streamed subscription result alike."""

    def on_operation(self) -> Iterator[None]:
        yield
        if self.execution_context.result is not None:
            _shape_all(self.execution_context.result)

    def on_stream_result(self, result: Any) -> Iterator[None]:
        _shape_all(result)
        yield None


EXTENSIONS: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
    ShapeErrors,
    lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
    lambda: AddValidationRules(list(RULES)),
    lambda: ParserCache(maxsize=CACHE_SIZE),
    lambda: ValidationCache(maxsize=CACHE_SIZE),
]
