"""GraphQL object and input types. Most are generated from the pydantic shapes the REST API
validates and serialises with (``generate``), so both transports share one definition."""
