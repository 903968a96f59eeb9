"""REST transport: thin adapters from HTTP to ``app.services``."""
