"""The schema: queries, mutations and subscriptions, with caches, guards and error shaping."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from app.graphql.extensions import EXTENSIONS
from app.graphql.mutations import Mutation
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


schema = MailgateSchema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    config=StrawberryConfig(default_resolver=resolve_default),
    scalar_overrides=SCALAR_OVERRIDES,
    extensions=EXTENSIONS,
)


def sdl() -> str:
    """The schema in SDL, as checked in at ``schema.graphql``."""
    return schema.as_str() + "\n"
