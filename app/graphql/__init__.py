"""The GraphQL API at /graphql: the REST operations and shapes over one endpoint, plus live
subscriptions on the change log (graphql-transport-ws)."""

from __future__ import annotations

from app.graphql.view import MailgateGraphQL


def create_graphql() -> MailgateGraphQL:
    from app.graphql.schema import schema

    return MailgateGraphQL(schema)
