"""Hot root fields: a query that is nothing but one such field (``{ messages(…) { … } }``, the
shape clients poll) is answered without graphql-core's executor when its rendering is already
memoized on the object the field returns.

The field's loader runs on every request (authentication, scope and the service call are never
skipped); only the completion of an unchanged object is. The answer is the same one the executor
gives, because the executor stored it (``memo.MemoizingExecutionContext``) under the same key:
the selection's AST node, from the parse cache, and the coerced variables. On a miss, the
ordinary path runs and fills the memo."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLField,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
    located_error,
)
from graphql.execution.values import get_argument_values, get_variable_values

from app.graphql.errors import shape
from app.graphql.memo import Memoized, encode, variables_key
from app.graphql.pipeline import cached_document, verdict

Loader = Callable[[Any, dict[str, Any]], Awaitable[Memoized]]


class Cold(Exception):
    """Raised by a loader, before any work, for arguments whose result is never memoized
    (a search): the ordinary path runs it once instead of twice."""


_loaders: dict[str, Loader] = {}
_plans: dict[tuple[str, str | None], Plan | None] = {}
MAX_PLANS = 512


def hot(field: str) -> Callable[[Loader], Loader]:
    """Register the loader of a root query field that returns ``Memoized`` objects; it gets
    the GraphQL context and the coerced arguments, as the strawberry resolver would."""

    def register(loader: Loader) -> Loader:
        _loaders[field] = loader
        return loader

    return register


@dataclass(frozen=True)
class Plan:
    document: DocumentNode
    operation: OperationDefinitionNode
    node: FieldNode
    field: GraphQLField
    loader: Loader

    @property
    def key(self) -> str:
        return self.node.alias.value if self.node.alias else self.node.name.value


def plan(schema: GraphQLSchema, query: str, name: str | None) -> Plan | None:
    """How to answer this query text on the hot path, or None if it is not eligible."""
    key = (query, name)
    document = cached_document(query)
    if key in _plans:
        known = _plans[key]
        if known is None or known.document is document:  # the parse cache may have re-parsed it
            return known
    found: Plan | None = None
    if document is not None and verdict(query) == []:
        operation = get_operation_ast(document, name)
        selections = operation.selection_set.selections if operation is not None else ()
        if operation is not None and operation.operation == OperationType.QUERY and len(selections) == 1:
            node = selections[0]
            if isinstance(node, FieldNode) and not node.directives and node.name.value in _loaders:
                assert schema.query_type is not None
                field = schema.query_type.fields[node.name.value]
                found = Plan(document, operation, node, field, _loaders[node.name.value])
    if document is not None:  # only remember verdicts about known, validated documents
        if len(_plans) >= MAX_PLANS:
            _plans.clear()
        _plans[key] = found
    return found


async def answer(
    schema: GraphQLSchema, plan: Plan, variables: dict[str, Any] | None, context: Any
) -> bytes | None:
    """The response body, or None to take the ordinary path (bad variables, not memoized yet)."""
    values = get_variable_values(schema, plan.operation.variable_definitions or (), variables or {})
    if isinstance(values, list):
        return None
    try:
        arguments = get_argument_values(plan.field, plan.node, values)
        result = await plan.loader(context, arguments)
    except Cold:
        return None
    except Exception as exc:
        error = shape(located_error(exc, [plan.node], [plan.key]))
        return encode({"data": None, "errors": [error.formatted]})
    memo = result.__dict__.get("__graphql_memo__")
    hit = memo.get(((id(plan.node),), variables_key(values.coerced))) if memo else None
    if hit is None or hit[0][0] is not plan.node:
        return None
    return encode({"data": {plan.key: hit[1]}})


__all__ = ["Cold", "GraphQLError", "Plan", "answer", "hot", "plan"]
