"""Background work on taskiq: in-process by default, Redis streams when MAILGATE_REDIS_URL is set."""
