"""What both transports (REST under /v1, GraphQL at /graphql) need from an HTTP connection:
who is calling, the request body within limits, and the shape of an error. Neither transport
owns it, so neither imports the other."""
