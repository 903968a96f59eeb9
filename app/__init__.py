"""Mailgate: a self-hosted email API gateway."""

__version__ = "0.1.0"
