"""The schema: queries, mutations and subscriptions, with caches, guards and error shaping."""

from __future__ import annotations

from typing import Any, cast

import strawberry
from graphql import GraphQLError, GraphQLSyntaxError, OperationType, execute, get_operation_ast
from strawberry.execution import optimized_is_awaitable
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.utils.await_maybe import await_maybe

from app.graphql.errors import shape
from app.graphql.memo import MemoizingExecutionContext
from app.graphql.mutations import Mutation
from app.graphql.pipeline import Pipeline, cached_document, verdict
from app.graphql.queries import Query
from app.graphql.subscriptions import Subscription
from app.graphql.types.scalars import SCALAR_OVERRIDES


def resolve_default(source: Any, name: str) -> Any:
    """Fields without a resolver read an attribute, or a key of a plain dict (the service
    layer's list entries), where a trailing ``_`` marks a Python keyword (``from_`` → from)."""
    if type(source) is dict:
        return source.get(name[:-1] if name[-1] == "_" else name)
    return getattr(source, name)


class MailgateSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Unexpected errors are logged once, by ``errors.describe``; the rest are the caller's, and
        GraphQL's own (syntax, validation, guards) get a code here."""
        for error in errors:
            own = error.original_error is None or isinstance(error.original_error, GraphQLError)
            if own and not (error.extensions or {}).get("code"):
                code = (
                    "GRAPHQL_PARSE_FAILED"
                    if isinstance(error, GraphQLSyntaxError)
                    else "GRAPHQL_VALIDATION_FAILED"
                )
                error.extensions = {**(error.extensions or {}), "code": code, "statusCode": 400}

    async def execute_prepared(
        self, query: str, variables: dict[str, Any] | None, operation_name: str | None, context: Any
    ) -> ExecutionResult | None:
        """Run a query or mutation whose document is already parsed and known to be valid
        straight through graphql-core, skipping strawberry's per-request extension machinery
        (which costs more than a cached page); None when it is not such an operation, and
        the caller takes the ordinary path, which parses, validates and remembers it."""
        document = cached_document(query)
        if document is None or verdict(query) != []:
            return None
        operation = get_operation_ast(document, operation_name)
        if operation is None or operation.operation == OperationType.SUBSCRIPTION:
            return None
        result = await await_maybe(
            execute(
                self._schema,
                document,
                variable_values=variables,
                operation_name=operation_name,
                context_value=context,
                is_awaitable=cast(Any, optimized_is_awaitable),
                executor_class=MemoizingExecutionContext,
                operation_extensions=None,
            )
        )
        if result.errors:
            self.process_errors(result.errors)
            result.errors = [shape(e) for e in result.errors]
        return ExecutionResult(data=result.data, errors=result.errors, extensions=None)


schema = MailgateSchema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    config=StrawberryConfig(default_resolver=resolve_default),
    scalar_overrides=SCALAR_OVERRIDES,
    execution_context_class=MemoizingExecutionContext,
    # A factory (instances are deprecated); its caches are module-level, shared by every request.
    extensions=[Pipeline],
)


def sdl() -> str:
    """The schema in SDL, as checked in at ``schema.graphql``."""
    return schema.as_str() + "\n"
