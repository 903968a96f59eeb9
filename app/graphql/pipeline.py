"""One extension for everything around execution (each extension costs hooks on every request):
size limit and parse cache, guard rules and validation cache, REST-shaped errors.

The validation cache is keyed by the query text, not the document: hashing a parsed document
walks the whole tree, which cost more than the rest of a cached request."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from graphql import DocumentNode, GraphQLError, OperationDefinitionNode, parse
from strawberry.extensions import SchemaExtension

from app.graphql.errors import shape
from app.graphql.guards import MAX_TOKENS, RULES

CACHE_SIZE = 512


@lru_cache(maxsize=CACHE_SIZE)
def _parse(query: str) -> DocumentNode:
    return parse(query, max_tokens=MAX_TOKENS)


class _Verdicts:
    """Validation errors per query text (an empty list: valid)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[str, list[GraphQLError]] = OrderedDict()

    def get(self, query: str) -> list[GraphQLError] | None:
        found = self._data.get(query)
        if found is not None:
            self._data.move_to_end(query)
        return found

    def put(self, query: str, errors: list[GraphQLError]) -> None:
        self._data[query] = errors
        if len(self._data) > self.size:
            self._data.popitem(last=False)


_verdicts = _Verdicts(CACHE_SIZE)


def cached_document(query: str) -> DocumentNode | None:
    """The parsed document if this query text was parsed before (without parsing it now)."""
    if query not in _seen:
        return None
    try:
        return _parse(query)
    except GraphQLError:
        return None


def verdict(query: str) -> list[GraphQLError] | None:
    """The validation errors remembered for this query text (None: not validated yet)."""
    return _verdicts.get(query)


_seen: set[str] = set()

#: The GraphQL spec: with several operations in a document, the request must name one.
AMBIGUOUS = GraphQLError(
    "The document has several operations: say which one to run with operationName",
    extensions={"code": "GRAPHQL_VALIDATION_FAILED", "statusCode": 400},
)


def ambiguous(query: str, operation_name: str | None) -> bool:
    """Several operations and no name saying which to run (strawberry would run the first)."""
    if operation_name is not None or query.count("{") < 2:
        return False
    try:
        document = _parse(query)
    except GraphQLError:
        return False  # the ordinary path reports the syntax error
    return sum(isinstance(d, OperationDefinitionNode) for d in document.definitions) > 1


def _shape_all(result: Any) -> None:
    errors = getattr(result, "errors", None)
    if errors:
        result.errors = [shape(e) for e in errors]


class Pipeline(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.validation_rules = (*context.validation_rules, *RULES)
        yield
        if context.result is not None:
            _shape_all(context.result)

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query is not None and context.graphql_document is None:
            context.graphql_document = _parse(context.query)
            if len(_seen) >= CACHE_SIZE:
                _seen.clear()
            _seen.add(context.query)
        yield

    def on_validate(self) -> Iterator[None]:
        from strawberry.schema.schema import validate_document

        context = self.execution_context
        query, document = context.query, context.graphql_document
        if query is not None and document is not None and context.pre_execution_errors is None:
            errors = _verdicts.get(query)
            if errors is None:
                errors = validate_document(context.schema._schema, document, context.validation_rules)
                _verdicts.put(query, errors)
            context.pre_execution_errors = errors
        yield

    def on_stream_result(self, result: Any) -> Iterator[None]:
        _shape_all(result)
        yield None
