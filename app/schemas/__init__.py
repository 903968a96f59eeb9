"""Request and response shapes: they validate input, serialise output and generate the OpenAPI document."""
