"""Reusable real-server test fixtures (Dovecot, SMTP sink, PostgreSQL, Redis)."""
