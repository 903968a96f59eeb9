"""The domain layer: every operation once, shared by REST, GraphQL and the CLI."""
