"""The GraphQL spec's rule for documents with several operations: the request must name the
one to run (strawberry would otherwise run the first)."""

from __future__ import annotations

from functools import lru_cache

from graphql import GraphQLError, OperationDefinitionNode, parse

from app.graphql.guards import MAX_TOKENS

AMBIGUOUS = GraphQLError(
    "The document has several operations: say which one to run with operationName",
    extensions={"code": "GRAPHQL_VALIDATION_FAILED", "statusCode": 400},
)


@lru_cache(maxsize=512)
def _operation_count(query: str) -> int:
    try:
        document = parse(query, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return 0  # the ordinary path reports the syntax error
    return sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)


def ambiguous(query: str, operation_name: str | None) -> bool:
    """Several operations and no name saying which to run."""
    if operation_name is not None or query.count("{") < 2:
        return False
    return _operation_count(query) > 1
